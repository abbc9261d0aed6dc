"""The facts of an order that shipping rules look at, typed and normalised.

Normalising once, here, is what lets two different evaluators agree: weights are
kilograms rounded to the gram, money is rounded to the cent, counts are integers,
texts are trimmed, and a postcode keeps its letters and digits only, in capitals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from typing import Any

GRAM = Decimal("0.001")
CENT = Decimal("0.01")
_LEADING_DIGITS = re.compile(r"\d+")


class OrderFactsError(ValueError):
    """An order cannot be turned into facts; the message says which field and why."""


@dataclass(frozen=True)
class OrderFacts:
    """What the rules may know about one order; build it with `from_order_mapping`."""

    country: str = ""
    postcode: str = ""
    city: str = ""
    total_weight_kg: Decimal = Decimal("0.000")
    total_value: Decimal = Decimal("0.00")
    currency: str = ""
    item_count: int = 0
    line_count: int = 0
    skus: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    channel: str = ""
    shop: str = ""
    shipping_preference: str = ""
    is_business: bool = False

    def __post_init__(self) -> None:
        """Normalise every field, so that equal orders give equal facts."""
        set_ = object.__setattr__
        set_(self, "country", self.country.strip().upper())
        set_(self, "postcode", normalise_postcode(self.postcode))
        set_(self, "city", self.city.strip())
        set_(self, "total_weight_kg", _quantize(self.total_weight_kg, GRAM))
        set_(self, "total_value", _quantize(self.total_value, CENT))
        set_(self, "currency", self.currency.strip().upper())
        set_(self, "skus", _clean_texts(self.skus))
        set_(self, "tags", _clean_texts(self.tags))
        set_(self, "channel", self.channel.strip())
        set_(self, "shop", self.shop.strip())
        set_(self, "shipping_preference", self.shipping_preference.strip())

    @cached_property
    def postcode_number(self) -> int | None:
        """The number the postcode starts with (8881 for 8881AB), or None."""
        found = _LEADING_DIGITS.match(self.postcode)
        return int(found.group()) if found else None

    @classmethod
    def from_order_mapping(cls, order: Mapping[str, Any]) -> OrderFacts:
        """Facts from an order in proto3 JSON form (snake_case or lowerCamelCase)."""
        address = _mapping(_field(order, "delivery_address"), "delivery_address")
        lines = _list(_field(order, "lines"), "lines")
        parsed_lines = [_parse_line(line, index) for index, line in enumerate(lines)]

        return cls(
            country=_text(_field(address, "country"), "delivery_address.country"),
            postcode=_text(_field(address, "postcode"), "delivery_address.postcode"),
            city=_text(_field(address, "city"), "delivery_address.city"),
            total_weight_kg=sum((q * w for _, q, w in parsed_lines), Decimal(0)),
            total_value=_decimal(_field(order, "total_amount"), "total_amount"),
            currency=_text(_field(order, "currency"), "currency"),
            item_count=sum(q for _, q, _ in parsed_lines),
            line_count=len(parsed_lines),
            skus=tuple(sku for sku, _, _ in parsed_lines if sku),
            tags=tuple(
                _text(tag, "tags") for tag in _list(_field(order, "tags"), "tags")
            ),
            channel=_text(_field(order, "source_platform"), "source_platform"),
            shop=_text(_field(order, "shop"), "shop"),
            shipping_preference=_text(
                _field(order, "shipping_preference"), "shipping_preference"
            ),
            is_business=bool(
                _text(_field(address, "company"), "delivery_address.company").strip()
            ),
        )


def normalise_postcode(postcode: str) -> str:
    """Capitals, without spaces or dashes: "8881 ab" becomes "8881AB"."""
    return "".join(char for char in postcode.upper() if char.isalnum())


def _quantize(value: Decimal, step: Decimal) -> Decimal:
    return Decimal(value).quantize(step, rounding=ROUND_HALF_UP)


def _clean_texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(value.strip() for value in values if value.strip())


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _field(message: Mapping[str, Any], name: str) -> Any:
    """A field by its proto name or its lowerCamelCase JSON name; None if absent."""
    if name in message:
        return message[name]
    return message.get(_camel(name))


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"{where} must be an object"
        raise OrderFactsError(msg)
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        msg = f"{where} must be a list"
        raise OrderFactsError(msg)
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        msg = f"{where} must be text, not {value!r}"
        raise OrderFactsError(msg)
    return value


def _decimal(value: Any, where: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        msg = f"{where} must be a decimal number, not {value!r}"
        raise OrderFactsError(msg)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0:
        msg = f"{where} must be a decimal number of 0 or more, not {value!r}"
        raise OrderFactsError(msg)
    return number


def _quantity(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{where} must be a whole number of 0 or more, not {value!r}"
        raise OrderFactsError(msg)
    return value


def _parse_line(line: Any, index: int) -> tuple[str, int, Decimal]:
    where = f"lines[{index}]"
    fields = _mapping(line, where)
    sku = _text(_field(fields, "sku"), f"{where}.sku").strip()
    quantity = _quantity(_field(fields, "quantity"), f"{where}.quantity")
    weight = _decimal(_field(fields, "weight_kg"), f"{where}.weight_kg")
    return sku, quantity, weight
