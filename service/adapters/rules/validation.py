"""Turning the YAML of a rule file into the rule model, or into plain-sentence problems.

Every problem names its file, line and column. Validation goes on after a problem,
so that an author sees all of them at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from service.adapters.rules.yaml_source import (
    Reporter,
    at_item,
    at_key,
    at_node,
    at_value,
)
from service.domain.rules.facts import normalise_postcode
from service.domain.rules.model import (
    ALWAYS,
    DECIMALS,
    FACTS,
    OPERATOR_SYMBOLS,
    OPERATORS,
    AllOf,
    AnyOf,
    Condition,
    Kind,
    Not,
    Op,
    Outcome,
    Rule,
    Test,
    TestValue,
    alternatives,
)

RULE_FIELDS: Final = ("id", "description", "when", "then")
OUTCOME_FIELDS: Final = ("method",)
GROUPS: Final = ("all", "any", "not")
MAX_LIST_VALUES: Final = 100
MAX_TESTS_PER_RULE: Final = 200
MAX_ALTERNATIVES: Final = 400
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_NUMBER_KINDS: Final = (Kind.WEIGHT, Kind.MONEY, Kind.COUNT)
_TEXT_KINDS: Final = (Kind.TEXT, Kind.POSTCODE)

Where = tuple[int, int]


class _Invalid(Exception):
    """A value was rejected; the problem is already recorded."""


def read_rules(document: Any, report: Reporter) -> list[Rule]:
    """The rules of a shipping rule file; problems go to `report`."""
    if not isinstance(document, Mapping):
        report.error(at_node(document), "a rule file must be a mapping with 'rules'")
        return []
    _only_fields(document, ("rules",), "the rule file", report)
    if "rules" not in document:
        report.error(at_node(document), "the rule file has no 'rules' list")
        return []

    items = document["rules"]
    if not isinstance(items, list):
        report.error(at_value(document, "rules"), "'rules' must be a list of rules")
        return []
    if not items:
        report.error(
            at_value(document, "rules"),
            "the rule list is empty; write at least one rule under 'rules'",
        )
        return []

    rules = [_rule(item, at_item(items, i), report) for i, item in enumerate(items)]
    found = [rule for rule in rules if rule is not None]
    _unique_ids(found, report)
    return found


def _only_fields(
    node: Mapping[str, Any], allowed: tuple[str, ...], what: str, report: Reporter
) -> None:
    for key in node:
        if key not in allowed:
            report.error(
                at_key(node, key),
                f"unknown field {str(key)!r} in {what}; "
                f"expected one of: {', '.join(allowed)}",
            )


def _unique_ids(rules: list[Rule], report: Reporter) -> None:
    first_line: dict[str, int] = {}
    for rule in rules:
        if rule.id in first_line:
            report.error(
                (rule.line, 1),
                f"duplicate rule id {rule.id!r}; "
                f"it is first used on line {first_line[rule.id]}",
            )
        else:
            first_line[rule.id] = rule.line


def _rule(node: Any, where: Where, report: Reporter) -> Rule | None:
    if not isinstance(node, Mapping):
        report.error(where, "a rule must be a mapping with id, description, when, then")
        return None
    before = len(report.problems)
    _only_fields(node, RULE_FIELDS, "a rule", report)

    rule_id = _rule_id(node, where, report)
    description = _text_field(node, "description", where, report)
    condition = _when(node, report)
    outcome = _outcome(node, where, report)
    if condition is not None and _too_complex(condition):
        report.error(
            where,
            f"rule {rule_id!r} is too complex (more than {MAX_TESTS_PER_RULE} "
            f"comparisons or {MAX_ALTERNATIVES} alternatives); split it into "
            "several rules",
        )

    if len(report.problems) > before or condition is None or outcome is None:
        return None
    return Rule(rule_id, description, condition, outcome, report.file, where[0])


def _rule_id(node: Mapping[str, Any], where: Where, report: Reporter) -> str:
    rule_id = _text_field(node, "id", where, report)
    if rule_id and not _RULE_ID.match(rule_id):
        report.error(
            at_value(node, "id"),
            f"rule id {rule_id!r} may only use letters, digits, '-', '_' and '.'",
        )
    return rule_id


def _text_field(
    node: Mapping[str, Any], name: str, where: Where, report: Reporter
) -> str:
    if name not in node:
        report.error(where, f"a rule needs {name!r}")
        return ""
    value = node[name]
    if not isinstance(value, str) or not value.strip():
        report.error(at_value(node, name), f"{name!r} must be a non-empty text")
        return ""
    return str(value).strip()


def _outcome(node: Mapping[str, Any], where: Where, report: Reporter) -> Outcome | None:
    if "then" not in node:
        report.error(where, "a rule needs 'then' with the shipping method")
        return None
    then = node["then"]
    if not isinstance(then, Mapping):
        report.error(at_value(node, "then"), "'then' must be a mapping with 'method'")
        return None
    _only_fields(then, OUTCOME_FIELDS, "'then'", report)
    method = then.get("method")
    if not isinstance(method, str) or not method.strip():
        report.error(at_node(then, where), "'then' needs a method, as non-empty text")
        return None
    return Outcome(str(method).strip())


def _when(node: Mapping[str, Any], report: Reporter) -> Condition | None:
    if "when" not in node:
        return ALWAYS
    try:
        return _group(node["when"], at_value(node, "when"), report)
    except _Invalid:
        return None


def _group(node: Any, where: Where, report: Reporter) -> Condition:
    """A mapping of facts and groups; all of its entries must hold."""
    if not isinstance(node, Mapping) or not node:
        report.error(where, "a condition must be a mapping of facts to tests")
        raise _Invalid
    parts: list[Condition] = []
    failed = False
    for key in node:
        try:
            parts.append(_entry(node, str(key), report))
        except _Invalid:
            failed = True
    if failed:
        raise _Invalid
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _entry(node: Mapping[str, Any], key: str, report: Reporter) -> Condition:
    value, where = node[key], at_value(node, key)
    if key in ("all", "any"):
        return _list_group(key, value, where, report)
    if key == "not":
        return Not(_group(value, where, report))
    if key not in FACTS:
        report.error(at_key(node, key), _unknown_fact(key))
        raise _Invalid
    return _fact_tests(key, value, where, report)


def _list_group(key: str, value: Any, where: Where, report: Reporter) -> Condition:
    if not isinstance(value, list) or not value:
        report.error(where, f"{key!r} needs a list of conditions")
        raise _Invalid
    parts = tuple(
        _group(item, at_item(value, i), report) for i, item in enumerate(value)
    )
    return AllOf(parts) if key == "all" else AnyOf(parts)


def _unknown_fact(name: str) -> str:
    close = difflib.get_close_matches(name, FACTS, n=1)
    hint = (
        f"did you mean {close[0]!r}?" if close else f"known facts: {', '.join(FACTS)}"
    )
    return f"unknown fact {name!r}; {hint}"


def _fact_tests(fact: str, value: Any, where: Where, report: Reporter) -> Condition:
    kind = FACTS[fact].kind
    if not isinstance(value, Mapping):
        shorthand = _shorthand(kind, value)
        return _test(fact, shorthand, value, where, report)

    tests: list[Condition] = []
    for raw_op in value:
        op = _operator(fact, str(raw_op), at_key(value, raw_op), report)
        tests.append(_test(fact, op, value[raw_op], at_value(value, raw_op), report))
    if not tests:
        report.error(where, f"{fact} needs at least one operator")
        raise _Invalid
    return tests[0] if len(tests) == 1 else AllOf(tuple(tests))


def _shorthand(kind: Kind, value: Any) -> Op:
    """A bare value means equals, a bare list one of (for sets: contains, any)."""
    if kind is Kind.SET:
        return Op.ANY if isinstance(value, list) else Op.CONTAINS
    return Op.ONE_OF if isinstance(value, list) else Op.EQUALS


def _operator(fact: str, name: str, where: Where, report: Reporter) -> Op:
    allowed = OPERATORS[FACTS[fact].kind]
    op = OPERATOR_SYMBOLS.get(name)
    if op is None:
        op = next((candidate for candidate in Op if candidate.value == name), None)
    if op is None or op not in allowed:
        names = ", ".join(candidate.value for candidate in allowed)
        what = "unknown operator" if op is None else "operator"
        tail = "" if op is None else f" cannot be used on {fact}"
        report.error(where, f"{what} {name!r}{tail}; {fact} allows: {names}")
        raise _Invalid
    return op


def _test(fact: str, op: Op, value: Any, where: Where, report: Reporter) -> Test:
    kind = FACTS[fact].kind
    checked = _value(fact, kind, op, value, where, report)
    return Test(fact, op, checked, where[0], where[1])


def _value(
    fact: str, kind: Kind, op: Op, value: Any, where: Where, report: Reporter
) -> TestValue:
    if op in (Op.ONE_OF, Op.NOT, Op.ANY, Op.ALL, Op.NONE):
        items = value if isinstance(value, list) else [value]
        return _values(fact, kind, op, items, where, report)
    if op is Op.BETWEEN:
        return _between(fact, kind, value, where, report)
    if op is Op.MATCHES:
        return _pattern(fact, value, where, report)
    if kind is Kind.FLAG:
        return _flag(fact, value, where, report)
    if kind in _NUMBER_KINDS:
        return _number(fact, kind, value, where, report)
    return _text(fact, kind, op, value, where, report)


def _values(
    fact: str, kind: Kind, op: Op, items: list[Any], where: Where, report: Reporter
) -> TestValue:
    if not items or len(items) > MAX_LIST_VALUES:
        report.error(
            where, f"{fact} {op.value} needs 1 to {MAX_LIST_VALUES} values in a list"
        )
        raise _Invalid
    if kind in _NUMBER_KINDS:
        return tuple(_number(fact, kind, item, where, report) for item in items)
    return tuple(_text(fact, kind, op, item, where, report) for item in items)


def _between(
    fact: str, kind: Kind, value: Any, where: Where, report: Reporter
) -> TestValue:
    if not isinstance(value, list) or len(value) != 2:
        report.error(where, f"{fact} between needs two numbers: [low, high]")
        raise _Invalid
    number_kind = Kind.POSTCODE if kind is Kind.POSTCODE else kind
    low, high = (_number(fact, number_kind, item, where, report) for item in value)
    if low > high:
        report.error(where, f"{fact} between: {low} is above {high}; write [low, high]")
        raise _Invalid
    return (low, high)


def _number(
    fact: str, kind: Kind, value: Any, where: Where, report: Reporter
) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        report.error(where, f"{fact} needs a number, not {_shown(value)}")
        raise _Invalid
    number = Decimal(str(value))
    places = DECIMALS[kind]
    if not number.is_finite() or number != round(number, places):
        whole = "a whole number" if places == 0 else f"at most {places} decimals"
        report.error(where, f"{fact} needs {whole}, not {value}")
        raise _Invalid
    return number


def _text(
    fact: str, kind: Kind, op: Op, value: Any, where: Where, report: Reporter
) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        report.error(where, f"{fact} needs text, not {_shown(value)}")
        raise _Invalid
    text = str(value).strip()
    if kind is Kind.POSTCODE:
        text = normalise_postcode(text)
    if not text and op is not Op.EQUALS:
        report.error(where, f"{fact} {op.value} needs a non-empty text")
        raise _Invalid
    return text


def _pattern(fact: str, value: Any, where: Where, report: Reporter) -> str:
    if not isinstance(value, str) or not value:
        report.error(where, f"{fact} matches needs a pattern, as text")
        raise _Invalid
    try:
        re.compile(value)
    except re.error as exc:
        report.error(where, f"pattern {value!r} does not compile: {exc}")
        raise _Invalid from exc
    return str(value)


def _flag(fact: str, value: Any, where: Where, report: Reporter) -> bool:
    if not isinstance(value, bool):
        report.error(where, f"{fact} needs true or false, not {_shown(value)}")
        raise _Invalid
    return value


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return str(value)


def _too_complex(condition: Condition) -> bool:
    too_many = len(_weight(condition)) > MAX_TESTS_PER_RULE
    return too_many or alternatives(condition) > MAX_ALTERNATIVES


def _weight(condition: Condition) -> list[int]:
    """One entry per comparison the compiled rule makes (list values count each)."""
    match condition:
        case Test(value=tuple() as values):
            return [1] * max(len(values), 1)
        case Test():
            return [1]
        case AllOf(parts) | AnyOf(parts):
            return [n for part in parts for n in _weight(part)]
        case Not(part):
            return _weight(part)
