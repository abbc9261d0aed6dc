"""Bad rule files are rejected with file, line, column and a plain sentence."""

from __future__ import annotations

from service.adapters.rules.tree import read_rule_text


def problems(text: str) -> list[str]:
    """The problems of a rule text, as 'file:line:column: message' strings."""
    _rules, report = read_rule_text(text, "shipping.yaml")
    return [str(problem) for problem in report.problems]


class TestBadInput:
    """Each bad input of issue 4 gives its exact message."""

    def test_invalid_yaml(self) -> None:
        """A file that is not valid YAML names the place the parser stopped."""
        text = "rules:\n  - id: a\n    when: {country: [NL\n"

        assert problems(text) == [
            "shipping.yaml:4:1: not valid YAML: "
            "expected ',' or ']', but got '<stream end>'"
        ]

    def test_unknown_field(self) -> None:
        """An unknown field in a rule lists the fields a rule may have."""
        text = (
            "rules:\n  - id: a\n    description: d\n"
            "    colour: red\n    then: {method: X}\n"
        )

        assert problems(text) == [
            "shipping.yaml:4:5: unknown field 'colour' in a rule; "
            "expected one of: id, description, when, then"
        ]

    def test_unknown_fact(self) -> None:
        """A condition on a fact that does not exist suggests the nearest fact."""
        text = (
            "rules:\n  - id: a\n    description: d\n"
            "    when: {wieght: 2}\n    then: {method: X}\n"
        )

        assert problems(text) == [
            "shipping.yaml:4:12: unknown fact 'wieght'; did you mean 'weight'?"
        ]

    def test_unknown_operator(self) -> None:
        """An unknown operator lists the operators of that fact."""
        text = (
            "rules:\n  - id: a\n    description: d\n"
            "    when:\n      weight: {ne: 2}\n    then: {method: X}\n"
        )

        assert problems(text) == [
            "shipping.yaml:5:16: unknown operator 'ne'; weight allows: equals, one_of, "
            "not, below, at_most, above, at_least, between"
        ]

    def test_wrong_type(self) -> None:
        """Text where a weight is expected says a number is needed."""
        text = (
            "rules:\n  - id: a\n    description: d\n"
            "    when:\n      weight: {above: abc}\n    then: {method: X}\n"
        )

        assert problems(text) == [
            "shipping.yaml:5:23: weight needs a number, not 'abc'"
        ]

    def test_duplicate_rule_id(self) -> None:
        """A second rule with the same id points at the first."""
        rule = "  - id: a\n    description: d\n    then: {method: X}\n"
        text = "rules:\n" + rule + rule

        assert problems(text) == [
            "shipping.yaml:5:1: duplicate rule id 'a'; it is first used on line 2"
        ]

    def test_empty_rule_list(self) -> None:
        """An empty rule list asks for at least one rule."""
        assert problems("rules: []\n") == [
            "shipping.yaml:1:8: the rule list is empty; "
            "write at least one rule under 'rules'"
        ]

    def test_pattern_that_does_not_compile(self) -> None:
        """A pattern that does not compile says why."""
        text = (
            "rules:\n  - id: a\n    description: d\n"
            "    when:\n      city: {matches: '[abc'}\n    then: {method: X}\n"
        )

        assert problems(text) == [
            "shipping.yaml:5:23: pattern '[abc' does not compile: "
            "unterminated character set at position 0"
        ]

    def test_operator_on_the_wrong_fact(self) -> None:
        """An operator that exists but not for the fact says so."""
        text = (
            "rules:\n  - id: a\n    description: d\n"
            "    when:\n      country: {above: 2}\n    then: {method: X}\n"
        )

        assert problems(text) == [
            "shipping.yaml:5:17: operator 'above' cannot be used on country; country "
            "allows: equals, one_of, not, contains, starts_with, matches"
        ]


class TestWarnings:
    """`check` warns about rules that cannot match and unknown methods."""

    def test_rule_below_a_catch_all_never_matches(self) -> None:
        """A rule below one without conditions is reported as unreachable."""
        text = (
            "rules:\n  - id: all\n    description: d\n    then: {method: X}\n"
            "  - id: late\n    description: d\n    when: {country: NL}\n"
            "    then: {method: Y}\n"
        )

        _rules, report = read_rule_text(text, "shipping.yaml", ["X", "Y"])

        assert [str(w) for w in report.warnings] == [
            "shipping.yaml:5:1: rule 'late' can never match: rule 'all' (line 2) "
            "always matches first"
        ]

    def test_unknown_method(self) -> None:
        """A method outside the known list is reported."""
        text = "rules:\n  - id: a\n    description: d\n    then: {method: UPS}\n"

        _rules, report = read_rule_text(text, "shipping.yaml", ["DHL"])

        assert [str(w) for w in report.warnings] == [
            "shipping.yaml:2:1: method 'UPS' of rule 'a' is not a known shipping "
            "method (DHL)"
        ]
