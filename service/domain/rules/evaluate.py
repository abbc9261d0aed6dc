"""The plain-Python evaluator: the reference meaning of every rule.

It evaluates the rule model directly, one rule after the other, and can say why a
condition failed. The durable_rules adapter must agree with it on every order;
the tests hold the two against each other.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from decimal import Decimal

from service.domain.rules.facts import OrderFacts, normalise_postcode
from service.domain.rules.model import (
    AllOf,
    AnyOf,
    Condition,
    Kind,
    Not,
    Op,
    Rule,
    Test,
    TestValue,
)

_PHRASES = {
    Op.EQUALS: ("is", "is not"),
    Op.ONE_OF: ("is one of", "is not one of"),
    Op.NOT: ("is not", "is"),
    Op.BELOW: ("is below", "is not below"),
    Op.AT_MOST: ("is at most", "is not at most"),
    Op.ABOVE: ("is above", "is not above"),
    Op.AT_LEAST: ("is at least", "is not at least"),
    Op.BETWEEN: ("is between", "is not between"),
    Op.CONTAINS: ("contains", "does not contain"),
    Op.STARTS_WITH: ("starts with", "does not start with"),
    Op.MATCHES: ("matches", "does not match"),
    Op.ANY: ("contain any of", "contain none of"),
    Op.ALL: ("contain all of", "do not contain all of"),
    Op.NONE: ("contain none of", "contain some of"),
}
_SET_CONTAINS = ("contain", "do not contain")


@functools.lru_cache(maxsize=4096)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """A rule's pattern, compiled once; matching ignores case."""
    return re.compile(pattern, re.IGNORECASE)


def fold(text: str) -> str:
    """The form texts are compared in: without regard to case."""
    return text.casefold()


def first_match(rules: Sequence[Rule], facts: OrderFacts) -> int | None:
    """The index of the first rule whose condition holds, or None."""
    for index, rule in enumerate(rules):
        if holds(rule.condition, facts):
            return index
    return None


def holds(condition: Condition, facts: OrderFacts) -> bool:
    """Whether a condition holds for these facts."""
    return why_not(condition, facts) is None


def why_not(condition: Condition, facts: OrderFacts) -> str | None:
    """None when the condition holds, else a sentence on the first part that failed."""
    match condition:
        case Test():
            return (
                None
                if _test_holds(condition, facts)
                else describe_miss(condition, facts)
            )
        case AllOf(parts):
            for part in parts:
                reason = why_not(part, facts)
                if reason is not None:
                    return reason
            return None
        case AnyOf(parts):
            reasons = [why_not(part, facts) for part in parts]
            if any(reason is None for reason in reasons):
                return None
            return "none of these held: " + "; ".join(str(r) for r in reasons)
        case Not(part):
            if why_not(part, facts) is None:
                return "the condition under 'not' held: " + describe_condition(part)
            return None


def actual_value(
    test: Test, facts: OrderFacts
) -> str | bool | Decimal | tuple[str, ...]:
    """The value of the tested fact, as the order has it."""
    value: str | bool | int | Decimal | tuple[str, ...] = getattr(
        facts, test.spec.attribute
    )
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _test_holds(test: Test, facts: OrderFacts) -> bool:
    kind = test.spec.kind
    actual = actual_value(test, facts)
    if kind is Kind.FLAG:
        return actual is test.value
    if kind is Kind.SET:
        assert isinstance(actual, tuple)
        return _set_holds(test.op, test.value, {fold(item) for item in actual})
    if kind is Kind.POSTCODE and test.op is Op.BETWEEN:
        number = facts.postcode_number
        return number is not None and _number_holds(
            test.op, test.value, Decimal(number)
        )
    if isinstance(actual, Decimal):
        return _number_holds(test.op, test.value, actual)
    assert isinstance(actual, str)
    return _text_holds(test.op, test.value, actual, postcode=kind is Kind.POSTCODE)


def _number_holds(op: Op, expected: TestValue, actual: Decimal) -> bool:
    if op is Op.ONE_OF or op is Op.NOT:
        assert isinstance(expected, tuple)
        inside = actual in expected
        return inside if op is Op.ONE_OF else not inside
    if op is Op.BETWEEN:
        assert isinstance(expected, tuple)
        low, high = expected
        assert isinstance(low, Decimal) and isinstance(high, Decimal)
        return low <= actual <= high
    assert isinstance(expected, Decimal)
    match op:
        case Op.EQUALS:
            return actual == expected
        case Op.BELOW:
            return actual < expected
        case Op.AT_MOST:
            return actual <= expected
        case Op.ABOVE:
            return actual > expected
        case _:
            return actual >= expected


def _text_holds(op: Op, expected: TestValue, actual: str, *, postcode: bool) -> bool:
    if op is Op.MATCHES:
        assert isinstance(expected, str)
        return compiled_pattern(expected).search(actual) is not None

    def norm(text: str) -> str:
        return fold(normalise_postcode(text) if postcode else text)

    have = norm(actual)
    if op is Op.ONE_OF or op is Op.NOT:
        assert isinstance(expected, tuple)
        inside = have in {norm(str(option)) for option in expected}
        return inside if op is Op.ONE_OF else not inside
    assert isinstance(expected, str)
    match op:
        case Op.EQUALS:
            return have == norm(expected)
        case Op.CONTAINS:
            return norm(expected) in have
        case _:
            return have.startswith(norm(expected))


def _set_holds(op: Op, expected: TestValue, actual: set[str]) -> bool:
    wanted = {fold(expected)} if isinstance(expected, str) else set()
    if isinstance(expected, tuple):
        wanted = {fold(str(item)) for item in expected}
    match op:
        case Op.ALL:
            return wanted <= actual
        case Op.NONE:
            return not wanted & actual
        case _:
            return bool(wanted & actual)


def show(value: object, unit: str = "") -> str:
    """A value as authors read it: numbers without trailing zeros, lists with commas."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        text = f"{value.normalize():f}"
        return f"{text} {unit}" if unit else text
    if isinstance(value, tuple):
        return ", ".join(show(item, unit) for item in value) if value else "(none)"
    text = str(value)
    return text if text else "(empty)"


# Cached: a test's phrase depends on the test alone, and every order that a
# rule passes over explains itself with it.
@functools.lru_cache(maxsize=4096)
def describe_test(test: Test, *, negated: bool = False) -> str:
    """A test as a phrase: "weight is above 20 kg" (or "is not above" negated)."""
    spec = test.spec
    if test.op is Op.BETWEEN and isinstance(test.value, tuple):
        low, high = test.value
        expected = f"{show(low, spec.unit)} and {show(high, spec.unit)}"
    else:
        expected = show(test.value, spec.unit)
    phrases = _PHRASES[test.op]
    if spec.kind is Kind.SET and test.op is Op.CONTAINS:
        phrases = _SET_CONTAINS
    return f"{spec.label} {phrases[negated]} {expected}"


def describe_condition(condition: Condition) -> str:
    """A whole condition as one phrase."""
    match condition:
        case Test():
            return describe_test(condition)
        case AllOf(parts):
            return " and ".join(describe_condition(p) for p in parts) or "always"
        case AnyOf(parts):
            return "(" + " or ".join(describe_condition(p) for p in parts) + ")"
        case Not(part):
            return f"not ({describe_condition(part)})"


def describe_miss(test: Test, facts: OrderFacts) -> str:
    """Why a test failed, with the actual value: "weight 2.3 kg is not above 20 kg"."""
    spec = test.spec
    if spec.kind is Kind.FLAG:
        return (
            f"{spec.label} is {show(actual_value(test, facts))}, not {show(test.value)}"
        )
    shown = show(actual_value(test, facts), spec.unit)
    if spec.kind is Kind.POSTCODE and test.op is Op.BETWEEN:
        number = facts.postcode_number
        shown += f" (number {number})" if number is not None else " (no number)"
    phrase = describe_test(test, negated=True).removeprefix(spec.label + " ")
    return f"{spec.label} {shown} {phrase}"
