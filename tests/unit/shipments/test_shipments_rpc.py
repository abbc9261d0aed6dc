"""The shipment API conversions and the reading of `sendshipment` documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from buckles.boltrics.v1 import connector_pb2 as pb
from service.domain.orders import TimelineEntry, TimelineKind
from service.domain.shipments import ShipmentConfirmation, ShipmentResult, ShippedLine
from service.entrypoints.grpc.shipments_rpc import (
    confirmation_from_proto,
    report_request,
    result_from_payload,
    result_to_proto,
)
from service.errors import InvalidArgument
from service.services.shipment_documents import TrackCodes, decode_message
from tests.unit.shipments.documents import HOSTILE, MALFORMED, sendshipment_xml

RESULT = ShipmentResult(
    account_id="acme",
    order_id="o-1",
    shipment_no="UIT-000001",
    order_known=True,
    source_platform="shopify",
    preferred_method="POSTNL",
    method_used="DHL",
    method_changed=True,
    lines=(ShippedLine(external_no="SKU-1", quantity="2"),),
    timeline=(
        TimelineEntry(
            time=datetime(2026, 12, 2, tzinfo=UTC),
            kind=TimelineKind.METHOD_CHANGED,
            message="changed",
        ),
    ),
)


class TestConversions:
    def test_unset_tracking_number_stays_unset(self) -> None:
        """A result without tracking number leaves the optional field unset."""
        message = result_to_proto(RESULT)

        assert not message.HasField("tracking_number")
        assert not message.HasField("tracking_url")
        assert message.timeline[0].kind == pb.TIMELINE_KIND_METHOD_CHANGED

    def test_tracking_number_is_carried(self) -> None:
        """A tracking number and link reach the proto."""
        result = RESULT.model_copy(
            update={"tracking_number": "3S1", "tracking_url": "https://t/3S1"}
        )

        message = result_to_proto(result)

        assert (message.tracking_number, message.tracking_url) == (
            "3S1",
            "https://t/3S1",
        )

    def test_payload_round_trips(self) -> None:
        """An ORDER_SHIPPED payload converts to the same proto as the result."""
        payload = RESULT.model_dump(mode="json")

        assert result_from_payload(payload) == result_to_proto(RESULT)

    def test_confirmation_from_proto_keeps_absence(self) -> None:
        """An unset tracking number is None; a set one is kept."""
        without = pb.ShipmentConfirmation(order_id="o-1", shipment_no="U")
        with_number = pb.ShipmentConfirmation(tracking_number="3S1")

        assert confirmation_from_proto(without).tracking_number is None
        assert confirmation_from_proto(with_number).tracking_number == "3S1"

    async def test_request_without_confirmation_is_invalid(self) -> None:
        """A ReportShipment request with neither oneof field is INVALID_ARGUMENT."""
        with pytest.raises(InvalidArgument) as raised:
            await report_request(_NoService(), pb.ReportShipmentRequest())

        assert raised.value.violations[0].field == "confirmation"


class _NoService:
    async def report(
        self, account_id: str, confirmation: ShipmentConfirmation
    ) -> tuple[ShipmentResult, bool]:
        raise AssertionError

    async def report_xml(
        self, account_id: str, xml: bytes
    ) -> tuple[ShipmentResult, bool]:
        raise AssertionError


class TestDecodeMessage:
    def test_tracking_attributes_follow_the_settings(self) -> None:
        """The track & trace number is read from the configured attribute code."""
        xml = sendshipment_xml(attributes={"TT": "3S9", "TRACKTRACE": "wrong"})

        decoded = decode_message(xml, TrackCodes(number="TT", url="TU"))

        assert isinstance(decoded, ShipmentConfirmation)
        assert decoded.tracking_number == "3S9"
        assert decoded.tracking_url is None

    @pytest.mark.parametrize("xml", [HOSTILE, MALFORMED, b"", b"\xff\xfe"])
    def test_bad_documents_give_a_reason(self, xml: bytes) -> None:
        """Hostile, malformed, empty or non-UTF-8 XML is a reason, not an exception."""
        assert isinstance(decode_message(xml, TrackCodes()), str)

    def test_missing_method_is_a_reason(self) -> None:
        """A document without ShippingAgentCode cannot tell the method used."""
        reason = decode_message(sendshipment_xml(agent=None), TrackCodes())

        assert reason == "sendshipment.shipping_agent_code: is required"
