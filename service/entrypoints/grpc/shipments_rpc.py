"""Shipments between the API and the domain: pure conversions, no I/O.

The servicer calls these around `ShipmentService`:

- `ReportShipment`: for `sendshipment_xml`,
  `service.report_xml(account, request.sendshipment_xml.encode("utf-8"))`; for
  `shipment`, `service.report(account, confirmation_from_proto(request.shipment))`;
  neither set is INVALID_ARGUMENT (`report_request` does all three). Answer with
  `report_response(result, repeat)`.
- `GetOrder`: `view.shipments.extend(results_to_proto(await
  service.shipments_of(account, order_id)))`.
- `WatchEvents`: an ORDER_SHIPPED event's payload is a `ShipmentResult` as JSON;
  `result_from_payload(payload)` turns it into `Event.shipment`. A
  SHIPMENT_REJECTED event's `payload["reason"]` is `Event.rejection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from buckles.boltrics.v1 import connector_pb2 as pb
from service.domain.shipments import ShipmentConfirmation, ShipmentResult, ShippedLine
from service.entrypoints.grpc.convert import timeline_to_proto
from service.errors import FieldViolation, InvalidArgument


class ShipmentReporter(Protocol):
    """What `report_request` needs of `ShipmentService`."""

    async def report(
        self, account_id: str, confirmation: ShipmentConfirmation
    ) -> tuple[ShipmentResult, bool]:
        """Handle a confirmation given field by field."""
        ...

    async def report_xml(
        self, account_id: str, xml: bytes
    ) -> tuple[ShipmentResult, bool]:
        """Handle a `sendshipment` document."""
        ...


def confirmation_from_proto(message: pb.ShipmentConfirmation) -> ShipmentConfirmation:
    """The domain's confirmation of the API's; an unset tracking number is None."""
    return ShipmentConfirmation(
        shipment_no=message.shipment_no.strip(),
        order_id=message.order_id.strip(),
        order_number=message.order_number,
        posting_date=message.posting_date.strip(),
        shipping_agent_code=message.shipping_agent_code.strip(),
        shipping_agent_name=message.shipping_agent_name,
        tracking_number=message.tracking_number
        if message.HasField("tracking_number")
        else None,
        tracking_url=message.tracking_url if message.HasField("tracking_url") else None,
        lines=tuple(
            ShippedLine(external_no=line.external_no, quantity=line.quantity)
            for line in message.lines
        ),
    )


def result_to_proto(result: ShipmentResult) -> pb.ShipmentResult:
    """The API form of a shipment result; no tracking number leaves the field unset."""
    message = pb.ShipmentResult(
        account_id=result.account_id,
        order_id=result.order_id,
        shipment_no=result.shipment_no,
        order_known=result.order_known,
        source_platform=result.source_platform,
        shop=result.shop,
        preferred_method=result.preferred_method,
        method_used=result.method_used,
        method_changed=result.method_changed,
        lines=[
            pb.ShippedLine(external_no=line.external_no, quantity=line.quantity)
            for line in result.lines
        ],
        timeline=[timeline_to_proto(entry) for entry in result.timeline],
        posting_date=result.posting_date,
    )
    if result.tracking_number is not None:
        message.tracking_number = result.tracking_number
    if result.tracking_url is not None:
        message.tracking_url = result.tracking_url
    return message


def results_to_proto(results: Iterable[ShipmentResult]) -> list[pb.ShipmentResult]:
    """The API form of an order's shipment results."""
    return [result_to_proto(result) for result in results]


def result_from_payload(payload: Mapping[str, Any]) -> pb.ShipmentResult:
    """The API form of an ORDER_SHIPPED event's payload."""
    return result_to_proto(ShipmentResult.model_validate(payload))


def report_response(result: ShipmentResult, repeat: bool) -> pb.ReportShipmentResponse:
    """The answer to ReportShipment."""
    return pb.ReportShipmentResponse(result=result_to_proto(result), repeat=repeat)


async def report_request(
    service: ShipmentReporter, request: pb.ReportShipmentRequest
) -> pb.ReportShipmentResponse:
    """Handle a ReportShipment request with whichever confirmation it carries."""
    which = request.WhichOneof("confirmation")
    if which == "sendshipment_xml":
        xml = request.sendshipment_xml.encode("utf-8")
        result, repeat = await service.report_xml(request.account_id, xml)
    elif which == "shipment":
        confirmation = confirmation_from_proto(request.shipment)
        result, repeat = await service.report(request.account_id, confirmation)
    else:
        raise InvalidArgument(
            [FieldViolation("confirmation", "give sendshipment_xml or shipment")]
        )
    return report_response(result, repeat)
