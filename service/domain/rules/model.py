"""The rule model: facts rules may test, operators, conditions, rules and rule sets.

The catalogue of facts (`FACTS`) and of operators per kind of fact (`OPERATORS`)
is the one source of truth for the validator, the JSON Schema, both evaluators
and the authors' documentation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, TypeAlias


class Kind(enum.Enum):
    """What sort of value a fact holds; it decides the operators allowed."""

    TEXT = "text"
    POSTCODE = "postcode"
    WEIGHT = "weight"
    MONEY = "money"
    COUNT = "count"
    SET = "set"
    FLAG = "flag"


class Op(enum.Enum):
    """An operator a condition may use, by the name authors write."""

    EQUALS = "equals"
    ONE_OF = "one_of"
    NOT = "not"
    BELOW = "below"
    AT_MOST = "at_most"
    ABOVE = "above"
    AT_LEAST = "at_least"
    BETWEEN = "between"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    MATCHES = "matches"
    ANY = "any"
    ALL = "all"
    NONE = "none"


#: Symbols authors may write instead of the words.
OPERATOR_SYMBOLS: Final = {
    "<": Op.BELOW,
    "<=": Op.AT_MOST,
    ">": Op.ABOVE,
    ">=": Op.AT_LEAST,
}

_TEXT_OPS = (Op.EQUALS, Op.ONE_OF, Op.NOT, Op.CONTAINS, Op.STARTS_WITH, Op.MATCHES)
_NUMBER_OPS = (
    Op.EQUALS,
    Op.ONE_OF,
    Op.NOT,
    Op.BELOW,
    Op.AT_MOST,
    Op.ABOVE,
    Op.AT_LEAST,
    Op.BETWEEN,
)

#: The operators each kind of fact allows.
OPERATORS: Final[dict[Kind, tuple[Op, ...]]] = {
    Kind.TEXT: _TEXT_OPS,
    Kind.POSTCODE: (*_TEXT_OPS, Op.BETWEEN),
    Kind.WEIGHT: _NUMBER_OPS,
    Kind.MONEY: _NUMBER_OPS,
    Kind.COUNT: _NUMBER_OPS,
    Kind.SET: (Op.CONTAINS, Op.ANY, Op.ALL, Op.NONE),
    Kind.FLAG: (Op.EQUALS,),
}

#: Decimal places a number of each kind may have in a rule.
DECIMALS: Final = {Kind.WEIGHT: 3, Kind.MONEY: 2, Kind.COUNT: 0, Kind.POSTCODE: 0}


@dataclass(frozen=True)
class FactSpec:
    """A fact rules may test: its name in rule files, kind, source and an example."""

    name: str
    kind: Kind
    attribute: str
    label: str
    description: str
    example: str
    unit: str = ""


FACTS: Final[dict[str, FactSpec]] = {
    spec.name: spec
    for spec in (
        FactSpec(
            "country",
            Kind.TEXT,
            "country",
            "country",
            "Destination country, ISO 3166 alpha-2 (NL, BE, DE).",
            "country: BE",
        ),
        FactSpec(
            "postcode",
            Kind.POSTCODE,
            "postcode",
            "postcode",
            "Destination postcode, capitals without spaces; `between` compares "
            "the number it starts with.",
            "postcode: {between: [8881, 8899]}",
        ),
        FactSpec(
            "city",
            Kind.TEXT,
            "city",
            "city",
            "Destination city.",
            "city: {one_of: [Terschelling, Vlieland]}",
        ),
        FactSpec(
            "weight",
            Kind.WEIGHT,
            "total_weight_kg",
            "weight",
            "Total weight in kilograms (quantity times unit weight, all lines).",
            "weight: {above: 20}",
            unit="kg",
        ),
        FactSpec(
            "value",
            Kind.MONEY,
            "total_value",
            "value",
            "Order total in its currency.",
            "value: {at_least: 250}",
        ),
        FactSpec(
            "currency",
            Kind.TEXT,
            "currency",
            "currency",
            "Currency of the order total (EUR).",
            "currency: EUR",
        ),
        FactSpec(
            "items",
            Kind.COUNT,
            "item_count",
            "item count",
            "Number of items (sum of quantities).",
            "items: {at_most: 2}",
        ),
        FactSpec(
            "lines",
            Kind.COUNT,
            "line_count",
            "line count",
            "Number of order lines.",
            "lines: 1",
        ),
        FactSpec(
            "skus",
            Kind.SET,
            "skus",
            "skus",
            "The SKUs in the order.",
            "skus: {any: [POSTER-A2, POSTER-A3]}",
        ),
        FactSpec(
            "tags",
            Kind.SET,
            "tags",
            "tags",
            "The order's tags.",
            "tags: {contains: express}",
        ),
        FactSpec(
            "channel",
            Kind.TEXT,
            "channel",
            "channel",
            "Sales channel (shopify, woocommerce, bol).",
            "channel: bol",
        ),
        FactSpec(
            "shop",
            Kind.TEXT,
            "shop",
            "shop",
            "The shop within the channel.",
            "shop: demo-store",
        ),
        FactSpec(
            "shipping_preference",
            Kind.TEXT,
            "shipping_preference",
            "shipping preference",
            "The shipping method text chosen at checkout.",
            "shipping_preference: {contains: brievenbus}",
        ),
        FactSpec(
            "business",
            Kind.FLAG,
            "is_business",
            "business delivery",
            "True when the delivery address has a company name.",
            "business: true",
        ),
    )
}

TestValue: TypeAlias = (
    str
    | bool
    | Decimal
    | tuple[str, ...]
    | tuple[Decimal, ...]
    | tuple[Decimal, Decimal]
)


@dataclass(frozen=True)
class Test:
    """One comparison of a fact with a value, where it was written."""

    fact: str
    op: Op
    value: TestValue
    line: int = 0
    column: int = 0

    @property
    def spec(self) -> FactSpec:
        """The catalogue entry of the fact tested."""
        return FACTS[self.fact]


@dataclass(frozen=True)
class AllOf:
    """Matches when every part matches; with no parts it always matches."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """Matches when at least one part matches."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """Matches when its part does not."""

    part: Condition


Condition: TypeAlias = Test | AllOf | AnyOf | Not

ALWAYS: Final = AllOf(())


@dataclass(frozen=True)
class Outcome:
    """What a matching rule decides; only the shipping method for now."""

    method: str


@dataclass(frozen=True)
class Rule:
    """One rule: the first rule of a set that matches an order decides."""

    id: str
    description: str
    condition: Condition
    outcome: Outcome
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class RuleSet:
    """An ordered list of rules with the content hash of the files it came from."""

    name: str
    rules: tuple[Rule, ...]
    version: str
    files: tuple[str, ...] = field(default=())


def leaves(condition: Condition) -> list[Test]:
    """Every test in a condition, in the order written."""
    match condition:
        case Test():
            return [condition]
        case AllOf(parts) | AnyOf(parts):
            return [test for part in parts for test in leaves(part)]
        case Not(part):
            return leaves(part)


def alternatives(condition: Condition, negate: bool = False) -> int:
    """How many and-only alternatives the condition has once `or`s are spread out.

    Engines that build one path per alternative (durable_rules does) need this
    to stay small.
    """
    match condition:
        case Test(op=op, value=value):
            count = len(value) if isinstance(value, tuple) else 1
            if op is Op.BETWEEN:
                return 3 if negate else 1
            if op in (Op.ONE_OF, Op.EQUALS):
                return 1 if negate else count
            if op is Op.NOT:
                return count if negate else 1
            return 1
        case AllOf(parts):
            return _combine(parts, negate, product=not negate)
        case AnyOf(parts):
            return _combine(parts, negate, product=negate)
        case Not(part):
            return alternatives(part, not negate)


def _combine(parts: tuple[Condition, ...], negate: bool, *, product: bool) -> int:
    total = 1 if product else 0
    for part in parts:
        count = alternatives(part, negate)
        total = total * count if product else total + count
    return max(total, 1)
