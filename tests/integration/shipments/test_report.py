"""ReportShipment's use case on both stores: repeats, split shipments, bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from service.adapters.store.shipments import NewShipment, SqlShipmentStore
from service.config import OrderSettings
from service.domain.events import EventType
from service.domain.orders import OrderState, TimelineKind
from service.domain.shipments import (
    ShipmentConfirmation,
    ShipmentOutcome,
    ShippedLine,
    unknown_order_result,
)
from service.errors import InvalidArgument
from service.services.dispatcher import OrderDispatcher
from service.services.orders import OrderService, Outcome
from tests.integration.shipments.conftest import ACCOUNT, Harness
from tests.support.fakes import FakeDecider, FakeGateway, FakeStatuses
from tests.support.orders import an_order
from tests.unit.shipments.documents import HOSTILE, sendshipment_xml


def _confirmation(
    shipment_no: str = "UIT-1", **changes: object
) -> ShipmentConfirmation:
    values: dict[str, object] = {
        "shipment_no": shipment_no,
        "order_id": "o-1",
        "posting_date": "2026-12-02",
        "shipping_agent_code": "DHL",
        "tracking_number": "3S1",
        "lines": (ShippedLine(external_no="SKU-1", quantity="1"),),
    }
    values.update(changes)
    return ShipmentConfirmation.model_validate(values)


class TestReport:
    async def test_same_confirmation_twice_changes_nothing(
        self, harness: Harness
    ) -> None:
        """The second report is a repeat: same result, no event, same timeline."""
        await harness.add_order("o-1", "POSTNL")
        service = harness.service()
        first, first_repeat = await service.report(ACCOUNT, _confirmation())
        timeline = await harness.orders.timeline(ACCOUNT, "o-1")

        again, repeat = await service.report(ACCOUNT, _confirmation())

        assert (first_repeat, repeat) == (False, True)
        assert again == first
        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 1
        assert await harness.orders.timeline(ACCOUNT, "o-1") == timeline

    async def test_split_shipment_is_a_result_of_its_own(
        self, harness: Harness
    ) -> None:
        """Two shipment numbers for one order: two results, two events."""
        await harness.add_order("o-1", "POSTNL")
        service = harness.service()

        await service.report(ACCOUNT, _confirmation("UIT-1"))
        second, repeat = await service.report(ACCOUNT, _confirmation("UIT-2"))

        assert repeat is False
        assert [e.kind for e in second.timeline] == [TimelineKind.SHIPPED]
        results = await service.shipments_of(ACCOUNT, "o-1")
        assert [r.shipment_no for r in results] == ["UIT-1", "UIT-2"]
        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 2

    async def test_xml_report_is_handled_like_a_collected_one(
        self, harness: Harness
    ) -> None:
        """A sendshipment document reported, then collected: applied once."""
        await harness.add_order("o-1", "POSTNL")
        shipped = await harness.ship("o-1", shippingAgentCode="DHL")
        service = harness.service()
        messages = await harness.new_messages()
        xml = messages[0]["xml"].encode("utf-8")

        result, repeat = await service.report_xml(ACCOUNT, xml)
        await service.collect_once()

        assert shipped["externalReference"] == "o-1"
        assert (result.method_used, result.method_changed, repeat) == (
            "DHL",
            True,
            False,
        )
        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 1
        assert await harness.new_messages() == []

    async def test_unknown_order_is_stored_not_refused(self, harness: Harness) -> None:
        """A report for an unknown order answers order_known false and is surfaced."""
        result, repeat = await harness.service().report(ACCOUNT, _confirmation())

        assert (result.order_known, repeat) == (False, False)
        assert len(await harness.events_of(EventType.SHIPMENT_REJECTED)) == 1


class TestBadInput:
    async def test_missing_fields_are_field_violations(self, harness: Harness) -> None:
        """No order id and no method: INVALID_ARGUMENT naming both fields."""
        service = harness.service()

        with pytest.raises(InvalidArgument) as raised:
            await service.report(
                ACCOUNT, _confirmation(order_id="", shipping_agent_code="")
            )

        assert [v.field for v in raised.value.violations] == [
            "shipment.order_id",
            "shipment.shipping_agent_code",
        ]

    @pytest.mark.parametrize(
        "xml", [HOSTILE, b"<Message", sendshipment_xml(order_id="")]
    )
    async def test_bad_xml_is_invalid_argument(
        self, harness: Harness, xml: bytes
    ) -> None:
        """Hostile, malformed or reference-less XML: a violation of sendshipment_xml."""
        with pytest.raises(InvalidArgument) as raised:
            await harness.service().report_xml(ACCOUNT, xml)

        assert raised.value.violations[0].field == "sendshipment_xml"


class TestShipmentBeforeOrder:
    async def test_an_order_boltrics_already_shipped_is_not_sent_again(
        self, harness: Harness
    ) -> None:
        """A shipment stored for an unknown order holds that order back when it
        comes: nothing is posted, and the collector then marks it shipped."""
        service = harness.service()
        await service.report(ACCOUNT, _confirmation())
        orders, dispatcher, boltrics = _order_side(harness)

        created = await orders.create(ACCOUNT, an_order("o-1"))
        await dispatcher.drain_once()

        assert created.outcome is Outcome.ACCEPTED
        assert boltrics.posted == []
        timeline = await harness.orders.timeline(ACCOUNT, "o-1")
        assert "already reported a shipment" in timeline[-1].message

        await service.collect_once()

        record = await harness.orders.get(ACCOUNT, "o-1")
        assert record is not None and record.state is OrderState.SHIPPED
        assert boltrics.posted == []

    async def test_an_order_created_while_its_shipment_is_stored_waits_for_it(
        self, harness: Harness
    ) -> None:
        """CreateOrder that comes while a shipment of that unknown order is being
        stored waits for that transaction, sees the shipment, and holds the
        order back (on PostgreSQL neither transaction finds a row to lock)."""
        orders, dispatcher, boltrics = _order_side(harness)
        confirmation = _confirmation()
        store = SqlShipmentStore(harness.database, harness.orders)

        async with store.transaction() as txn:
            await txn.prefetch(ACCOUNT, ["m-1"], ["o-1"])
            assert await txn.order(ACCOUNT, "o-1") is None
            stored = await txn.add(_unknown(confirmation))
            creating = asyncio.create_task(orders.create(ACCOUNT, an_order("o-1")))
            # Unguarded, CreateOrder would finish here, before the shipment.
            await asyncio.sleep(0.3)
        created = await creating
        await dispatcher.drain_once()

        assert stored is True
        assert created.outcome is Outcome.ACCEPTED
        assert boltrics.posted == []
        timeline = await harness.orders.timeline(ACCOUNT, "o-1")
        assert "already reported a shipment" in timeline[-1].message

    async def test_other_orders_are_sent_as_usual(self, harness: Harness) -> None:
        """A waiting shipment of one order does not hold back another."""
        await harness.service().report(ACCOUNT, _confirmation(order_id="o-9"))
        orders, dispatcher, boltrics = _order_side(harness)

        await orders.create(ACCOUNT, an_order("o-1"))
        await dispatcher.drain_once()

        assert len(boltrics.posted) == 1


def _unknown(confirmation: ShipmentConfirmation) -> NewShipment:
    """The confirmation as stored for an order the connector does not know."""
    return NewShipment(
        account_id=ACCOUNT,
        order_id=confirmation.order_id,
        shipment_no=confirmation.shipment_no,
        message_id="m-1",
        outcome=ShipmentOutcome.UNKNOWN_ORDER,
        reason="not known",
        confirmation=confirmation,
        result=unknown_order_result(ACCOUNT, confirmation),
        received_at=datetime.now(UTC),
    )


def _order_side(harness: Harness) -> tuple[OrderService, OrderDispatcher, FakeGateway]:
    """The order service and dispatcher on the harness's store, posting to a fake."""
    boltrics = FakeGateway()
    dispatcher = OrderDispatcher(
        harness.orders,
        lambda _account: boltrics,
        lambda _account: harness.account,
        OrderSettings(),
    )
    orders = OrderService(
        harness.orders, FakeDecider(), FakeStatuses(), wake_dispatcher=dispatcher.wake
    )
    return orders, dispatcher, boltrics
