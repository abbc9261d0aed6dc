"""Orders: what an order is, whether it goes to Boltrics, and its life.

Pure domain logic: no I/O. Models are frozen pydantic models so that they
round-trip through the store as JSON without hand-written mapping.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from service.domain.text import unwritable_text
from service.errors import FieldViolation

PROCESSING = "processing"
BUCKLES_STATUSES = frozenset(
    {
        "pending",
        "processing",
        "on_hold",
        "completed",
        "cancelled",
        "refunded",
        "shipped",
    }
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Frozen):
    """Where to ship: only what the warehouse needs."""

    name: str = ""
    company: str = ""
    street_lines: tuple[str, ...] = ()
    postcode: str = ""
    city: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""


class OrderLine(_Frozen):
    """One line of an order."""

    product_id: str = ""
    sku: str = ""
    barcode: str = ""
    name: str = ""
    quantity: int = 0
    unit_price: str = ""
    weight_kg: float = 0.0
    #: The ExternalNo of the line's product as the connector knows it (from the
    #: listing of its product id, set when the order was accepted); empty when
    #: none is known. Never from the caller.
    item: str = ""

    @property
    def external_no(self) -> str:
        """The product's ExternalNo: the one its listing has (fixed for life,
        though the shop's SKU may have changed since), else the SKU, else the
        barcode, else the product id."""
        return self.item or self.sku.strip() or self.barcode.strip() or self.product_id


class Order(_Frozen):
    """An order as Buckles hands it over."""

    order_id: str
    order_number: str = ""
    source_platform: str = ""
    shop: str = ""
    buckles_status: str | None = None
    webshop_status: str | None = None
    paid: bool = False
    placed_at: datetime | None = None
    currency: str = ""
    total_amount: str = ""
    delivery_address: Address = Address()
    lines: tuple[OrderLine, ...] = ()
    shipping_preference: str = ""
    tags: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """A hash of what goes to the warehouse; status and payment are left out,
        since an order may come again with only those changed."""
        content = self.model_dump_json(
            exclude={
                "buckles_status": True,
                "webshop_status": True,
                "paid": True,
                "lines": {"__all__": {"item"}},
            }
        )
        return hashlib.sha256(content.encode("utf-8")).hexdigest()

    def with_items(self, items: Mapping[str, str]) -> Order:
        """The order with each line's `item` set from `items` (ExternalNo by
        product id); lines of other products as they are."""
        if not items:
            return self
        lines = tuple(
            line.model_copy(update={"item": items[line.product_id]})
            if line.product_id in items
            else line
            for line in self.lines
        )
        return self.model_copy(update={"lines": lines})


class OrderState(StrEnum):
    """Where an order is on its way to the warehouse."""

    SKIPPED = "skipped"
    QUEUED = "queued"
    SENT = "sent"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"
    SHIPPED = "shipped"


SENT_STATES = frozenset({OrderState.SENT, OrderState.PROCESSED, OrderState.SHIPPED})


class TimelineKind(StrEnum):
    """What a timeline entry records."""

    RECEIVED = "received"
    SKIPPED = "skipped"
    DECIDED = "decided"
    QUEUED = "queued"
    SENT = "sent"
    PROCESSED = "processed"
    FAILED = "failed"
    RETRIED = "retried"
    SHIPPED = "shipped"
    METHOD_CHANGED = "method_changed"
    DEAD = "dead"


class TimelineEntry(_Frozen):
    """One step in an order's life."""

    time: datetime
    kind: TimelineKind
    message: str


class RuleMiss(_Frozen):
    """Why one rule above the match did not match."""

    rule_id: str
    file: str = ""
    line: int = 0
    reason: str


class Decision(_Frozen):
    """The shipping method an order goes out with, and why."""

    method: str
    source: str  # "rule" or "checkout"
    checkout_preference: str = ""
    rule_id: str | None = None
    rule_file: str | None = None
    rule_line: int | None = None
    ruleset_version: str = ""
    misses: tuple[RuleMiss, ...] = ()
    explanation: str = ""


class Forwarding(_Frozen):
    """Whether an order goes to Boltrics now, and if not, why."""

    forward: bool
    reason: str = ""


def forwarding(order: Order, buckles_status: str) -> Forwarding:
    """Only paid orders in Processing go to the warehouse."""
    if buckles_status != PROCESSING:
        return Forwarding(
            forward=False,
            reason=f"status is {buckles_status.replace('_', ' ')}, not processing",
        )
    if not order.paid:
        return Forwarding(forward=False, reason="the order is not paid")
    return Forwarding(forward=True)


#: The longest order id: Boltrics takes an `externalReference` of at most 100
#: characters, and an order's is its id, "~" and its generation (`message_key`).
MAX_ORDER_ID = 90


def validate_order(order: Order) -> list[FieldViolation]:
    """Every problem with an order, one violation per problem (field paths as in
    the API, under `order.`)."""
    problems: list[FieldViolation] = []
    if not order.order_id.strip():
        problems.append(FieldViolation("order.order_id", "is required"))
    elif len(order.order_id) > MAX_ORDER_ID:
        problems.append(
            FieldViolation(
                "order.order_id",
                f"has {len(order.order_id)} characters; at most {MAX_ORDER_ID}",
            )
        )
    if order.buckles_status is None and not (order.webshop_status or "").strip():
        problems.append(
            FieldViolation("order.status", "give buckles_status or webshop_status")
        )
    problems += _money("order.total_amount", order.total_amount)
    problems += _address(order.delivery_address)
    if not order.lines:
        problems.append(FieldViolation("order.lines", "at least one line is required"))
    for index, line in enumerate(order.lines):
        problems += _line(f"order.lines[{index}]", line)
    problems += unwritable_text(order, "order")
    return problems


def _address(address: Address) -> list[FieldViolation]:
    if not _COUNTRY.match(address.country):
        return [
            FieldViolation(
                "order.delivery_address.country",
                f"{address.country!r} is not an ISO 3166-1 alpha-2 code such as NL",
            )
        ]
    return []


def _line(path: str, line: OrderLine) -> list[FieldViolation]:
    problems = []
    if line.quantity <= 0:
        problems.append(
            FieldViolation(
                f"{path}.quantity", f"must be at least 1, not {line.quantity}"
            )
        )
    if not (line.sku.strip() or line.barcode.strip() or line.product_id.strip()):
        problems.append(
            FieldViolation(path, "give at least one of sku, barcode or product_id")
        )
    problems += _money(f"{path}.unit_price", line.unit_price)
    if line.weight_kg < 0:
        problems.append(FieldViolation(f"{path}.weight_kg", "must not be negative"))
    return problems


def _money(path: str, text: str) -> list[FieldViolation]:
    if not text:
        return []
    try:
        value = Decimal(text)
    except InvalidOperation:
        return [FieldViolation(path, f"{text!r} is not a decimal number")]
    if not value.is_finite():
        return [FieldViolation(path, f"{text!r} is not a decimal number")]
    if value < 0:
        return [FieldViolation(path, "must not be negative")]
    return []


def unknown_items(error_text: str, external_nos: Iterable[str]) -> list[str]:
    """The order's ExternalNos that Boltrics' error text names as unknown."""
    lowered = error_text.lower()
    if (
        "unknown" not in lowered
        and "not found" not in lowered
        and "does not exist" not in lowered
    ):
        return []
    return sorted({no for no in external_nos if no and no in error_text})


class OrderRecord(_Frozen):
    """The connector's whole knowledge of one order."""

    account_id: str
    order: Order
    state: OrderState
    buckles_status: str
    fingerprint: str
    skip_reason: str = ""
    decision: Decision | None = None
    method_used: str = ""
    message_id: str = ""
    generation: int = 0
    last_error: str = ""
    waiting_for: tuple[str, ...] = ()
    created_at: datetime
    updated_at: datetime

    @property
    def message_key(self) -> str:
        """The `externalReference` of this order's current Boltrics message.

        A deliberate new send (after Boltrics failed the previous one, or on an
        operator's retry) gets a new generation, so that the lookup that guards
        against double posts never mistakes the failed message for this one.
        """
        return f"{self.order.order_id}~{self.generation}"

    def change(self, **changes: object) -> OrderRecord:
        """A copy with `changes` applied."""
        return self.model_copy(update=changes)
