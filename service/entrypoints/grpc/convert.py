"""Conversions between the API's messages and the domain's models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from google.protobuf.timestamp_pb2 import Timestamp

from buckles.boltrics.v1 import connector_pb2 as pb
from service.domain.events import Event, EventType
from service.domain.orders import (
    Address,
    Decision,
    Order,
    OrderLine,
    OrderRecord,
    OrderState,
    TimelineEntry,
    TimelineKind,
)
from service.entrypoints.grpc.products_rpc import view_from_payload
from service.entrypoints.grpc.stock_rpc import level_from_payload

_STATUS_TO_NAME: dict[pb.BucklesStatus, str] = {
    pb.BUCKLES_STATUS_PENDING: "pending",
    pb.BUCKLES_STATUS_PROCESSING: "processing",
    pb.BUCKLES_STATUS_ON_HOLD: "on_hold",
    pb.BUCKLES_STATUS_COMPLETED: "completed",
    pb.BUCKLES_STATUS_CANCELLED: "cancelled",
    pb.BUCKLES_STATUS_REFUNDED: "refunded",
    pb.BUCKLES_STATUS_SHIPPED: "shipped",
}
_NAME_TO_STATUS: dict[str, pb.BucklesStatus] = {
    name: value for value, name in _STATUS_TO_NAME.items()
}
_STATE_TO_PROTO: dict[OrderState, pb.OrderState] = {
    state: cast("pb.OrderState", pb.OrderState.Value(f"ORDER_STATE_{state.name}"))
    for state in OrderState
}
_PROTO_TO_STATE = {value: state for state, value in _STATE_TO_PROTO.items()}
_KIND_TO_PROTO: dict[TimelineKind, pb.TimelineKind] = {
    kind: cast("pb.TimelineKind", pb.TimelineKind.Value(f"TIMELINE_KIND_{kind.name}"))
    for kind in TimelineKind
}
_EVENT_TO_PROTO: dict[EventType, pb.EventType] = {
    kind: cast("pb.EventType", pb.EventType.Value(f"EVENT_TYPE_{kind.name}"))
    for kind in EventType
}
_PROTO_TO_EVENT = {value: kind for kind, value in _EVENT_TO_PROTO.items()}


def timestamp(moment: datetime) -> Timestamp:
    """A protobuf timestamp of an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def order_from_proto(message: pb.Order) -> Order:
    """The domain order of an API order; validation happens in the domain."""
    status = message.WhichOneof("status")
    buckles_status = None
    if status == "buckles_status":
        buckles_status = _STATUS_TO_NAME.get(message.buckles_status, "")
    address = message.delivery_address
    return Order(
        order_id=message.order_id,
        order_number=message.order_number,
        source_platform=message.source_platform,
        shop=message.shop,
        buckles_status=buckles_status,
        webshop_status=message.webshop_status if status == "webshop_status" else None,
        paid=message.paid,
        placed_at=message.placed_at.ToDatetime(UTC)
        if message.HasField("placed_at")
        else None,
        currency=message.currency,
        total_amount=message.total_amount,
        delivery_address=Address(
            name=address.name,
            company=address.company,
            street_lines=tuple(address.street_lines),
            postcode=address.postcode,
            city=address.city,
            country=_country(address.country),
            email=address.email,
            phone=address.phone,
        ),
        lines=tuple(
            OrderLine(
                product_id=line.product_id,
                sku=line.sku,
                barcode=line.barcode,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                weight_kg=line.weight_kg,
            )
            for line in message.lines
        ),
        shipping_preference=message.shipping_preference,
        tags=tuple(message.tags),
    )


def order_to_proto(order: Order) -> pb.Order:
    """The API form of a domain order."""
    message = pb.Order(
        order_id=order.order_id,
        order_number=order.order_number,
        source_platform=order.source_platform,
        shop=order.shop,
        paid=order.paid,
        currency=order.currency,
        total_amount=order.total_amount,
        delivery_address=pb.Address(**order.delivery_address.model_dump()),
        lines=[
            pb.OrderLine(**line.model_dump(exclude={"item"})) for line in order.lines
        ],
        shipping_preference=order.shipping_preference,
        tags=list(order.tags),
    )
    if order.buckles_status is not None:
        message.buckles_status = _NAME_TO_STATUS.get(
            order.buckles_status, pb.BUCKLES_STATUS_UNSPECIFIED
        )
    elif order.webshop_status is not None:
        message.webshop_status = order.webshop_status
    if order.placed_at is not None:
        message.placed_at.CopyFrom(timestamp(order.placed_at))
    return message


def decision_to_proto(decision: Decision) -> pb.ShippingDecision:
    """The API form of a shipping decision."""
    message = pb.ShippingDecision(
        shipping_method=decision.method,
        source=(
            pb.ShippingDecision.SOURCE_RULE
            if decision.source == "rule"
            else pb.ShippingDecision.SOURCE_CHECKOUT
        ),
        checkout_preference=decision.checkout_preference,
        ruleset_version=decision.ruleset_version,
        misses=[
            pb.RuleMiss(
                rule=pb.RuleRef(rule_id=miss.rule_id, file=miss.file, line=miss.line),
                reason=miss.reason,
            )
            for miss in decision.misses
        ],
        explanation=decision.explanation,
    )
    if decision.rule_id is not None:
        message.matched_rule.CopyFrom(
            pb.RuleRef(
                rule_id=decision.rule_id,
                file=decision.rule_file or "",
                line=decision.rule_line or 0,
            )
        )
    return message


def timeline_to_proto(entry: TimelineEntry) -> pb.TimelineEntry:
    """The API form of a timeline entry."""
    return pb.TimelineEntry(
        time=timestamp(entry.time),
        kind=_KIND_TO_PROTO[entry.kind],
        message=entry.message,
    )


def order_view(
    record: OrderRecord, timeline: list[TimelineEntry] | None = None
) -> pb.OrderView:
    """The API's view of an order."""
    view = pb.OrderView(
        account_id=record.account_id,
        order=order_to_proto(record.order),
        state=_STATE_TO_PROTO[record.state],
        skip_reason=record.skip_reason,
        shipping_method_used=record.method_used,
        boltrics_message_id=record.message_id,
        last_error=record.last_error,
        timeline=[timeline_to_proto(entry) for entry in timeline or []],
        create_time=timestamp(record.created_at),
        update_time=timestamp(record.updated_at),
    )
    if record.decision is not None:
        view.decision.CopyFrom(decision_to_proto(record.decision))
    return view


def state_from_proto(value: int) -> OrderState | None:
    """The domain state of an API state; None for unspecified."""
    return _PROTO_TO_STATE.get(cast("pb.OrderState", value))


def event_type_from_proto(value: int) -> EventType | None:
    """The domain event type of an API event type; None when unknown."""
    return _PROTO_TO_EVENT.get(cast("pb.EventType", value))


def event_to_proto(event: Event) -> pb.Event:
    """The API form of a recorded event."""
    message = pb.Event(
        cursor=str(event.cursor),
        account_id=event.account_id,
        type=_EVENT_TO_PROTO[event.type],
        time=timestamp(event.time),
    )
    if event.type is EventType.ORDER_SHIPPED:
        # shipments_rpc builds on this module, so it is imported here, late.
        from service.entrypoints.grpc.shipments_rpc import result_from_payload

        message.shipment.CopyFrom(result_from_payload(event.payload))
    elif event.type.name.startswith("ORDER_"):
        message.order.CopyFrom(order_view(OrderRecord.model_validate(event.payload)))
    elif event.type is EventType.STOCK_CHANGED:
        message.stock.CopyFrom(level_from_payload(event.payload))
    elif event.type is EventType.PRODUCT_CHANGED:
        message.product.CopyFrom(view_from_payload(event.payload))
    elif event.type is EventType.SHIPMENT_REJECTED:
        message.rejection = str(event.payload.get("reason", ""))
    return message


def _country(code: str) -> str:
    """Accept "nl" for "NL"; anything else stays as given, for validation to name."""
    stripped = code.strip()
    return stripped.upper() if len(stripped) == 2 and stripped.isalpha() else code
