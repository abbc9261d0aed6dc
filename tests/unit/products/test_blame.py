"""Which members of a failed materialmasterdata message are to blame."""

from __future__ import annotations

from service.services.product_sender import split_blame


def test_the_named_items_fail_and_the_others_go_again() -> None:
    """The items the error names fail; the unchanged others are sent again."""
    failed, changed, again = split_blame(
        "Item B-2, C-3 does not exist", ["A-1", "B-2", "D-4"], ["C-3", "E-5"]
    )

    assert (failed, changed, again) == (["B-2"], ["C-3"], ["A-1", "D-4"])


def test_a_text_naming_no_member_fails_them_all() -> None:
    """Without a name to go by, every member shares the error."""
    assert split_blame("Internal error", ["A-1", "B-2"], ["C-3"]) == (
        ["A-1", "B-2"],
        ["C-3"],
        [],
    )


def test_names_are_whole_words() -> None:
    """An ExternalNo inside a longer word is not named ("A-1" in "A-10")."""
    failed, _, again = split_blame("Item A-10 does not exist", ["A-1", "A-10"], [])

    assert (failed, again) == (["A-10"], ["A-1"])


def test_names_may_hold_spaces_and_end_a_sentence() -> None:
    """An ExternalNo with a space is named whole, and one followed by a full
    stop is named too; the innocent member goes again."""
    spaced = split_blame("Item MUG 350 does not exist", ["MUG 350", "CUP-1"], [])
    stopped = split_blame("Unknown item: SKU-9.", ["SKU-9", "SKU-8"], [])

    assert spaced == (["MUG 350"], [], ["CUP-1"])
    assert stopped == (["SKU-9"], [], ["SKU-8"])


def test_a_dot_inside_a_name_is_no_full_stop() -> None:
    """ "A-1" is not named by "A-1.5", which names "A-1.5"."""
    failed, _, again = split_blame("Item A-1.5 does not exist", ["A-1", "A-1.5"], [])

    assert (failed, again) == (["A-1.5"], ["A-1"])
