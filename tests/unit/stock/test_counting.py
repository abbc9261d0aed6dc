"""The count-once rule: holds against figures, newer figures, the clamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.domain.orders import Order, OrderLine, OrderRecord, OrderState
from service.domain.products import Listing
from service.domain.stock import (
    Figure,
    Hold,
    HoldStage,
    counts,
    hold_stage,
    level_payload,
    level_view,
    order_quantities,
    reserved,
    sellable,
    supersedes,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A moment `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


class TestHolds:
    """Whether an order's hold still counts against a figure."""

    def test_an_open_order_counts_against_any_figure(self) -> None:
        """Boltrics cannot have subtracted an order it has not processed."""
        hold = Hold("o-1", "SKU-1", 2)

        assert counts(hold, at(100))
        assert counts(hold, None)

    def test_a_figure_dated_after_the_verdict_includes_the_order(self) -> None:
        """Once a figure is newer than the processing seen, the hold stops."""
        hold = Hold("o-1", "SKU-1", 2, processed_at=at(10))

        assert not counts(hold, at(11))

    def test_a_figure_older_than_the_verdict_keeps_the_hold(self) -> None:
        """A figure that may predate processing leaves the order subtracted."""
        hold = Hold("o-1", "SKU-1", 2, processed_at=at(10))

        assert counts(hold, at(9))
        assert counts(hold, at(10))

    def test_reserved_sums_only_the_holds_that_count(self) -> None:
        """Released holds are left out of the reserved quantity."""
        holds = [
            Hold("o-1", "SKU-1", 2),
            Hold("o-2", "SKU-1", 3, processed_at=at(5)),
            Hold("o-3", "SKU-1", 4, processed_at=at(20)),
        ]

        assert reserved(holds, at(10)) == 6


class TestFigures:
    """Which figure wins, and what the channels may sell."""

    def test_an_older_figure_never_replaces_a_newer_one(self) -> None:
        """A figure dated before the stored one is refused."""
        assert not supersedes(at(9), at(10))
        assert supersedes(at(11), at(10))
        assert supersedes(at(10), None)

    def test_a_figure_of_the_same_second_replaces(self) -> None:
        """Two messages of one second: the one listed later wins."""
        assert supersedes(at(10), at(10))

    def test_sellable_is_clamped_and_the_truth_kept(self) -> None:
        """More held than available sells zero and shows the shortfall."""
        view = level_view("SKU-1", Figure(3, 5, at(1)), 5)

        assert sellable(3, 5) == 0
        assert (view.sellable, view.reserved, view.shortfall) == (0, 5, 2)

    def test_without_a_figure_nothing_is_sellable(self) -> None:
        """A product Boltrics has no figure for has nothing to ship."""
        view = level_view("SKU-1", None, 0, [Listing(product_id="p-1")])

        assert (view.sellable, view.as_of, len(view.listings)) == (0, None, 1)


class TestPayloads:
    """A level's event payload, built without the model, is the model's JSON."""

    @pytest.mark.parametrize(
        ("figure", "reserved_quantity", "listings"),
        [
            (Figure(3, 5, at(1)), 5, [Listing(product_id="p-1", shop="s")]),
            (Figure(7, 9, at(0.25)), 2, []),
            (Figure(4, 4, T0.astimezone(timezone(timedelta(hours=1)))), 0, []),
            (
                None,
                1,
                [
                    Listing(product_id="p-2", source_platform="shopify"),
                    Listing(product_id="p-3", source_platform="bol", shop="nl"),
                ],
            ),
        ],
        ids=["held", "fraction-of-a-second", "other-offset", "no-figure"],
    )
    def test_the_payload_is_the_views_json(
        self, figure: Figure | None, reserved_quantity: int, listings: list[Listing]
    ) -> None:
        """Every field, date format and listing as `model_dump` writes them."""
        view = level_view("SKU-1", figure, reserved_quantity, listings)

        assert level_payload(
            "SKU-1", figure, reserved_quantity, listings
        ) == view.model_dump(mode="json")


class TestOrders:
    """What an order's record means for its holds."""

    def test_lines_of_one_item_add_up(self) -> None:
        """Two lines of the same SKU hold their sum."""
        record = _record(
            OrderState.QUEUED,
            OrderLine(sku="A", quantity=2),
            OrderLine(sku="A", quantity=1),
            OrderLine(barcode="871", quantity=4),
        )

        assert order_quantities(record) == {"A": 3, "871": 4}

    def test_states_map_to_stages(self) -> None:
        """Queued, sent and dead (it may be in Boltrics) hold; processed and
        shipped date; failed and skipped release."""
        assert hold_stage(OrderState.QUEUED) is HoldStage.OPEN
        assert hold_stage(OrderState.SENT) is HoldStage.OPEN
        assert hold_stage(OrderState.DEAD) is HoldStage.OPEN
        assert hold_stage(OrderState.PROCESSED) is HoldStage.PROCESSED
        assert hold_stage(OrderState.SHIPPED) is HoldStage.PROCESSED
        assert hold_stage(OrderState.FAILED) is HoldStage.GONE
        assert hold_stage(OrderState.SKIPPED) is HoldStage.GONE


def _record(state: OrderState, *lines: OrderLine) -> OrderRecord:
    return OrderRecord(
        account_id="acme",
        order=Order(order_id="o-1", lines=lines),
        state=state,
        buckles_status="processing",
        fingerprint="f",
        created_at=T0,
        updated_at=T0,
    )
