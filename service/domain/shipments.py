"""Shipments: what a warehouse's shipment confirmation means for its order.

Pure domain logic: no I/O. A confirmation names the order (Buckles' order id,
Boltrics' ExternalReference), Boltrics' shipment number, the method used and,
when there is one, a track & trace number. Applying it to the order marks the
order shipped, records the method used and, when that differs from the
preference, says on the timeline from what to what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from service.domain.orders import OrderRecord, OrderState, TimelineEntry, TimelineKind
from service.errors import FieldViolation


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShipmentOutcome(StrEnum):
    """How a received confirmation ended."""

    APPLIED = "applied"
    UNKNOWN_ORDER = "unknown_order"
    REJECTED = "rejected"


class ShippedLine(_Frozen):
    """One shipped line: the product's ExternalNo and the quantity, as a decimal."""

    external_no: str
    quantity: str


class ShipmentConfirmation(_Frozen):
    """A shipment confirmation as the domain sees it, whichever way it came.

    A blank tracking number or link is no tracking number or link: `None`, so
    that no empty string ever poses as one.
    """

    shipment_no: str
    order_id: str
    order_number: str = ""
    posting_date: str = ""
    shipping_agent_code: str = ""
    shipping_agent_name: str = ""
    tracking_number: str | None = None
    tracking_url: str | None = None
    lines: tuple[ShippedLine, ...] = ()

    @field_validator("tracking_number", "tracking_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()


class ShipmentResult(_Frozen):
    """What a shipment means for its order: what Buckles passes on to the source
    platform (through events and GetOrder)."""

    account_id: str
    order_id: str
    shipment_no: str
    order_known: bool
    source_platform: str = ""
    shop: str = ""
    preferred_method: str = ""
    method_used: str = ""
    method_changed: bool = False
    tracking_number: str | None = None
    tracking_url: str | None = None
    lines: tuple[ShippedLine, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    posting_date: str = ""


@dataclass(frozen=True)
class AppliedShipment:
    """An order after a shipment, the timeline entries it gets, and the result."""

    record: OrderRecord
    entries: tuple[TimelineEntry, ...]
    result: ShipmentResult


#: The longest order id and shipment number a confirmation may carry (what
#: the store keeps; an order's own id is shorter still).
MAX_KEY = 128


def validate_confirmation(
    confirmation: ShipmentConfirmation, prefix: str = "shipment"
) -> list[FieldViolation]:
    """Every problem with a confirmation, one violation per field (under `prefix`)."""
    problems = [
        FieldViolation(f"{prefix}.{name}", "is required")
        for name in ("order_id", "shipment_no", "shipping_agent_code")
        if not getattr(confirmation, name).strip()
    ]
    problems += [
        FieldViolation(
            f"{prefix}.{name}",
            f"has {len(getattr(confirmation, name))} characters; at most {MAX_KEY}",
        )
        for name in ("order_id", "shipment_no")
        if len(getattr(confirmation, name)) > MAX_KEY
    ]
    if confirmation.posting_date and not _is_date(confirmation.posting_date):
        problems.append(
            FieldViolation(
                f"{prefix}.posting_date",
                f"{confirmation.posting_date!r} is not a date as YYYY-MM-DD",
            )
        )
    for index, line in enumerate(confirmation.lines):
        problems += _line(f"{prefix}.lines[{index}]", line)
    return problems


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == len("YYYY-MM-DD")


def _line(path: str, line: ShippedLine) -> list[FieldViolation]:
    problems = []
    if not line.external_no.strip():
        problems.append(FieldViolation(f"{path}.external_no", "is required"))
    try:
        quantity = Decimal(line.quantity)
    except InvalidOperation:
        quantity = Decimal("NaN")
    if not quantity.is_finite() or quantity < 0:
        problems.append(
            FieldViolation(
                f"{path}.quantity", f"{line.quantity!r} is not a decimal of 0 or more"
            )
        )
    return problems


def preferred_method(record: OrderRecord) -> str:
    """The shipping method the order went to Boltrics with."""
    if record.decision is not None:
        return record.decision.method
    return record.order.shipping_preference


def same_method(first: str, second: str) -> bool:
    """Whether two method texts name the same method (case and outer spaces aside)."""
    return first.strip().casefold() == second.strip().casefold()


def apply_shipment(
    record: OrderRecord, confirmation: ShipmentConfirmation, now: datetime
) -> AppliedShipment:
    """The order shipped: state SHIPPED, the method used recorded, and the timeline.

    The method used is compared with the preference for `method_changed`; the
    METHOD_CHANGED entry is written only when it differs from the order's
    current method, so that a split shipment with the same method says it once.
    """
    preferred = preferred_method(record)
    current = record.method_used or preferred
    used = confirmation.shipping_agent_code.strip()

    entries = [
        TimelineEntry(
            time=now, kind=TimelineKind.SHIPPED, message=_shipped_sentence(confirmation)
        )
    ]
    if not same_method(current, used):
        entries.append(
            TimelineEntry(
                time=now,
                kind=TimelineKind.METHOD_CHANGED,
                message=f"shipping method changed from {current!r} to {used!r}",
            )
        )

    shipped = record.change(state=OrderState.SHIPPED, method_used=used, updated_at=now)
    result = ShipmentResult(
        account_id=record.account_id,
        order_id=record.order.order_id,
        shipment_no=confirmation.shipment_no,
        order_known=True,
        source_platform=record.order.source_platform,
        shop=record.order.shop,
        preferred_method=preferred,
        method_used=used,
        method_changed=not same_method(preferred, used),
        tracking_number=confirmation.tracking_number,
        tracking_url=confirmation.tracking_url,
        lines=confirmation.lines,
        timeline=tuple(entries),
        posting_date=confirmation.posting_date,
    )
    return AppliedShipment(record=shipped, entries=tuple(entries), result=result)


def unknown_order_result(
    account_id: str, confirmation: ShipmentConfirmation
) -> ShipmentResult:
    """The result of a confirmation for an order the connector does not know."""
    return ShipmentResult(
        account_id=account_id,
        order_id=confirmation.order_id,
        shipment_no=confirmation.shipment_no,
        order_known=False,
        method_used=confirmation.shipping_agent_code.strip(),
        tracking_number=confirmation.tracking_number,
        tracking_url=confirmation.tracking_url,
        lines=confirmation.lines,
        posting_date=confirmation.posting_date,
    )


def _shipped_sentence(confirmation: ShipmentConfirmation) -> str:
    sentence = (
        f"shipped by Boltrics as {confirmation.shipment_no} "
        f"with {confirmation.shipping_agent_code.strip()!r}"
    )
    if confirmation.tracking_number is None:
        return sentence + "; no track & trace number"
    return sentence + f", track & trace {confirmation.tracking_number}"
