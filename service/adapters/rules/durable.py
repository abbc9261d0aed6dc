"""The durable_rules adapter: rule sets compiled to durable_rules, which decides.

durable_rules 2.0.28 has traps this module keeps from callers:

- A string compares greater than any number: every fact is posted with one fixed
  type (texts case-folded, weights in grams, money in cents, flags as 0 or 1).
- Unknown operators are accepted and never match: we emit only the operators of
  our own compiler (`$and`, `$or`, `$neq`, `$lt`, `$lte`, `$gt`, `$gte`).
- Its regular expressions are not Python's: texts tested with contains, starts
  with or matches, and the SKU and tag sets, are tested here and posted as 0/1
  probes; durable_rules evaluates every comparison and all of the logic.
- After 1,024 session ids it fails: every message uses the one session "0".
- A field named `id` can hang it: facts have fixed names, none is `id`.
- More than 64 rules matching one message fail with error 303, and a node with
  more than about 512 children hangs while the ruleset is built: rules are
  spread over rulesets of at most `CHUNK_BUDGET` alternatives (validation caps
  one rule at `MAX_ALTERNATIVES`), asked in order, and a ruleset that
  overflows asks its two halves instead.
- Ruleset names are registered once per host, and its Python host runs timer
  threads forever: we use the C engine directly, one handle per ruleset, freed
  when the engine object is collected. Reload builds a new engine and swaps.
- Nothing matching is not an error here: it is the checkout's preference.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import orjson
from durable.engine import durable_rules_engine as engine

from service.domain.rules.decision import ShippingDecision, decision_for
from service.domain.rules.evaluate import first_match, holds
from service.domain.rules.facts import OrderFacts
from service.domain.rules.model import (
    AllOf,
    AnyOf,
    Condition,
    Kind,
    Not,
    Op,
    Rule,
    RuleSet,
    Test,
    alternatives,
)
from service.errors import ConnectorError
from service.logging import get_logger

CHUNK_BUDGET: Final = 200
_OVERFLOW: Final = "error code: 303"
_NOT_HANDLED: Final = 1
_SCALE: Final = {Kind.WEIGHT: 1000, Kind.MONEY: 100, Kind.COUNT: 1, Kind.POSTCODE: 1}
_COMPARE: Final = {
    Op.BELOW: ("$lt", "$gte"),
    Op.AT_MOST: ("$lte", "$gt"),
    Op.ABOVE: ("$gt", "$lte"),
    Op.AT_LEAST: ("$gte", "$lt"),
}
_PROBED: Final = (Op.CONTAINS, Op.STARTS_WITH, Op.MATCHES, Op.ANY, Op.ALL, Op.NONE)

log = get_logger(__name__)

Expression = dict[str, Any]


class RuleEngineError(ConnectorError):
    """durable_rules failed in a way the adapter does not know how to recover from."""

    reason = "INTERNAL"


class _Probe:
    """A text or set test computed in Python and posted to durable_rules as 0/1."""

    def __init__(self, key: str, test: Test):
        self.key = key
        self.test = test
        self._pattern = (
            re.compile(str(test.value), re.IGNORECASE)
            if test.op is Op.MATCHES
            else None
        )

    def value(self, facts: OrderFacts) -> int:
        """1 when the test holds for these facts, else 0."""
        actual = getattr(facts, self.test.spec.attribute)
        if self._pattern is not None:
            return 1 if self._pattern.search(actual) else 0
        if isinstance(actual, tuple):
            return 1 if self._set_holds({item.casefold() for item in actual}) else 0
        expected = str(self.test.value).casefold()
        have = actual.casefold()
        holds = (
            expected in have
            if self.test.op is Op.CONTAINS
            else have.startswith(expected)
        )
        return 1 if holds else 0

    def _set_holds(self, actual: set[str]) -> bool:
        raw = self.test.value
        wanted = {
            str(item).casefold() for item in (raw if isinstance(raw, tuple) else (raw,))
        }
        if self.test.op is Op.ALL:
            return wanted.issubset(actual)
        if self.test.op is Op.NONE:
            return wanted.isdisjoint(actual)
        return not wanted.isdisjoint(actual)


class _Compiler:
    """Compiles conditions to durable_rules expressions, collecting the probes."""

    def __init__(self) -> None:
        self.probes: dict[Test, _Probe] = {}

    def expression(self, condition: Condition, negate: bool = False) -> Expression:
        """The condition (or its negation) in negation normal form."""
        match condition:
            case Test():
                return self._test(condition, negate)
            case AllOf(parts):
                return self._group(parts, "$or" if negate else "$and", negate)
            case AnyOf(parts):
                return self._group(parts, "$and" if negate else "$or", negate)
            case Not(part):
                return self.expression(part, not negate)

    def _group(self, parts: Sequence[Condition], op: str, negate: bool) -> Expression:
        if not parts:
            return {"t": 0 if negate else 1}
        compiled = [self.expression(part, negate) for part in parts]
        return compiled[0] if len(compiled) == 1 else {op: compiled}

    def _test(self, test: Test, negate: bool) -> Expression:
        if test.op in _PROBED:
            probe = self.probes.setdefault(test, _Probe(f"p{len(self.probes)}", test))
            return {probe.key: 0 if negate else 1}
        kind = test.spec.kind
        if kind is Kind.FLAG:
            return {test.fact: int(test.value is not negate)}
        if test.op in _COMPARE:
            op = _COMPARE[test.op][negate]
            return {op: {test.fact: _posted(kind, test.value)}}
        if test.op is Op.BETWEEN:
            return self._between(test, negate)
        values = test.value if isinstance(test.value, tuple) else (test.value,)
        inside = test.op is not Op.NOT
        return _membership(
            test.fact, [_posted(kind, v) for v in values], inside != negate
        )

    def _between(self, test: Test, negate: bool) -> Expression:
        low, high = test.value if isinstance(test.value, tuple) else (0, 0)
        kind = test.spec.kind
        fact = "postcode_number" if kind is Kind.POSTCODE else test.fact
        low_v, high_v = _posted(kind, low), _posted(kind, high)
        parts: list[Expression]
        if negate:
            parts = [{"$lt": {fact: low_v}}, {"$gt": {fact: high_v}}]
            return (
                {"$or": [{"postcode_has_number": 0}, *parts]}
                if fact != test.fact
                else {"$or": parts}
            )
        parts = [{"$gte": {fact: low_v}}, {"$lte": {fact: high_v}}]
        if fact != test.fact:
            parts.insert(0, {"postcode_has_number": 1})
        return {"$and": parts}


def _membership(fact: str, values: list[Any], inside: bool) -> Expression:
    if inside:
        alternatives = [{fact: value} for value in values]
        return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}
    exclusions = [{"$neq": {fact: value}} for value in values]
    return exclusions[0] if len(exclusions) == 1 else {"$and": exclusions}


def _posted(kind: Kind, value: object) -> int | str:
    """A rule's constant in the type its fact is posted with."""
    if kind in _SCALE:
        assert isinstance(value, Decimal | int)
        return int(Decimal(value) * _SCALE[kind])
    return str(value).casefold()


#: How each fact is posted: its name in the message and how it is read.
_FIELDS: Final[dict[str, Callable[[OrderFacts], object]]] = {
    "t": lambda facts: 1,
    "country": lambda facts: facts.country.casefold(),
    "postcode": lambda facts: facts.postcode.casefold(),
    "postcode_number": lambda facts: _or_minus_one(facts.postcode_number),
    "postcode_has_number": lambda facts: int(facts.postcode_number is not None),
    "city": lambda facts: facts.city.casefold(),
    "weight": lambda facts: int(facts.total_weight_kg * 1000),
    "value": lambda facts: int(facts.total_value * 100),
    "currency": lambda facts: facts.currency.casefold(),
    "items": lambda facts: facts.item_count,
    "lines": lambda facts: facts.line_count,
    "channel": lambda facts: facts.channel.casefold(),
    "shop": lambda facts: facts.shop.casefold(),
    "shipping_preference": lambda facts: facts.shipping_preference.casefold(),
    "business": lambda facts: int(facts.is_business),
}


def _or_minus_one(number: int | None) -> int:
    return -1 if number is None else number


def _referenced(expression: object, found: set[str]) -> set[str]:
    """Every fact name an expression tests, added to `found`."""
    if isinstance(expression, list):
        for part in expression:
            _referenced(part, found)
    elif isinstance(expression, dict):
        for key, value in expression.items():
            if key.startswith("$"):
                _referenced(value, found)
            else:
                found.add(key)
    return found


class _Poster:
    """Builds the message of one order: only the facts a rule set tests.

    Posting fewer fields makes each message cheaper for durable_rules to parse;
    a fact no rule tests cannot change which rule matches.
    """

    def __init__(self, used: set[str], probes: Sequence[_Probe]):
        self._fields = [(name, read) for name, read in _FIELDS.items() if name in used]
        self._probes = tuple(probe for probe in probes if probe.key in used)

    def message(self, facts: OrderFacts, serial: int) -> str:
        """The JSON message for durable_rules; `serial` keeps every one distinct."""
        fields: dict[str, object] = {"sid": "0", "serial": serial}
        for name, read in self._fields:
            fields[name] = read(facts)
        for probe in self._probes:
            fields[probe.key] = probe.value(facts)
        return orjson.dumps(fields).decode()


class _Chunk:
    """Consecutive rules in one durable_rules ruleset; priority keeps their order.

    When too many of its nodes hold for one message (error 303), the chunk asks
    its two halves instead, built on first need; a single rule that still
    overflows is decided by the plain evaluator, and that is logged.
    """

    def __init__(
        self,
        offset: int,
        rules: Sequence[Rule],
        compiler: _Compiler,
        handles: list[int],
    ):
        self.offset = offset
        self.rules = tuple(rules)
        self._compiler = compiler
        self._handles = handles
        self._lock = threading.Lock()
        expressions = [compiler.expression(rule.condition) for rule in rules]
        self.used = _referenced(expressions, set())
        definition = {
            f"r{i}": {"all": [{"m": expression}], "pri": i + 1}
            for i, expression in enumerate(expressions)
        }
        self._handle: int = engine.create_ruleset("shipping", json.dumps(definition))
        handles.append(self._handle)
        self._halves: tuple[_Chunk, _Chunk] | None = None

    def first_match(self, message: str, facts: OrderFacts) -> int | None:
        """The index (in the whole set) of the first rule of this chunk that matches."""
        with self._lock:
            try:
                found = _ask(self._handle, message)
            except engine.error as exc:
                if _OVERFLOW not in str(exc):
                    raise RuleEngineError(f"durable_rules failed: {exc}") from exc
                return self._overflowed(message, facts)
        return None if found is None else self.offset + found

    def _overflowed(self, message: str, facts: OrderFacts) -> int | None:
        if len(self.rules) == 1:
            log.warning("rules.engine_overflowed", rule=self.rules[0].id)
            return self.offset if holds(self.rules[0].condition, facts) else None
        if self._halves is None:
            middle = len(self.rules) // 2
            self._halves = (
                _Chunk(self.offset, self.rules[:middle], self._compiler, self._handles),
                _Chunk(
                    self.offset + middle,
                    self.rules[middle:],
                    self._compiler,
                    self._handles,
                ),
            )
        for half in self._halves:
            found = half.first_match(message, facts)
            if found is not None:
                return found
        return None


def _ask(handle: int, message: str) -> int | None:
    """Post one message; the local index of the rule whose action ran, or None."""
    code, state = engine.assert_event(handle, message)
    if code == _NOT_HANDLED:
        return None
    started = engine.start_action_for_state(handle, state)
    if not started:
        return None
    name = next(iter(json.loads(started[1])))
    while engine.complete_and_start_action(handle, state):
        pass
    return int(name[1:])


def _free(handles: list[int]) -> None:
    for handle in handles:
        engine.delete_ruleset(handle)


class _CompiledSet:
    """One rule set as durable_rules rulesets."""

    def __init__(self, ruleset: RuleSet, handles: list[int]):
        self.ruleset = ruleset
        compiler = _Compiler()
        self.chunks = [
            _Chunk(offset, group, compiler, handles)
            for offset, group in _chunked(ruleset.rules)
        ]
        used = set[str]().union(*(chunk.used for chunk in self.chunks))
        self._poster = _Poster(used, tuple(compiler.probes.values()))

    def first_match(self, facts: OrderFacts, serial: int) -> int | None:
        message = self._poster.message(facts, serial)
        for chunk in self.chunks:
            found = chunk.first_match(message, facts)
            if found is not None:
                return found
        return None


def _chunked(rules: Sequence[Rule]) -> Iterator[tuple[int, list[Rule]]]:
    offset, group, budget = 0, list[Rule](), 0
    for index, rule in enumerate(rules):
        weight = alternatives(rule.condition)
        if group and budget + weight > CHUNK_BUDGET:
            yield offset, group
            offset, group, budget = index, [], 0
        group.append(rule)
        budget += weight
    if group:
        yield offset, group


class DurableShippingRules:
    """Shipping rules decided by durable_rules, for several accounts at once.

    An account without a set of its own gets the set named `fallback`. The
    object is immutable once built; reload by building a new one. Safe to use
    from several threads.
    """

    def __init__(self, rulesets: Mapping[str, RuleSet], fallback: str = "default"):
        handles: list[int] = []
        self._finalizer = weakref.finalize(self, _free, handles)
        self._sets = {name: _CompiledSet(rs, handles) for name, rs in rulesets.items()}
        self._fallback = fallback
        self._serial: Callable[[], int] = itertools.count().__next__

    def ruleset(self, account_id: str) -> RuleSet:
        """The rule set that decides for this account."""
        return self._compiled(account_id).ruleset

    def decide(self, account_id: str, facts: OrderFacts) -> ShippingDecision:
        """The account's decision for these facts, with its (lazy) explanation."""
        compiled = self._compiled(account_id)
        index = compiled.first_match(facts, self._serial())
        return decision_for(compiled.ruleset, facts, index)

    def _compiled(self, account_id: str) -> _CompiledSet:
        found = self._sets.get(account_id) or self._sets.get(self._fallback)
        if found is None:
            msg = f"no rule set for account {account_id!r} and no default set"
            raise RuleEngineError(msg)
        return found


def plain_first_match(ruleset: RuleSet, facts: OrderFacts) -> int | None:
    """The plain evaluator's answer, for comparing with durable_rules."""
    return first_match(ruleset.rules, facts)
