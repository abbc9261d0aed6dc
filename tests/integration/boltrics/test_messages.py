"""Processing, shipping, acknowledging and the error table, over loopback HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.adapters.boltrics import (
    Address,
    BoltricsDeadlineExceeded,
    BoltricsRejected,
    DiMessage,
    Direction,
    HttpxBoltricsGateway,
    MessageStatus,
    MessageType,
    RateLimiter,
    RetryPolicy,
    parse_shipment_confirmation,
    parse_stock_status,
)
from tests.integration.boltrics.conftest import Control, GatewayMaker
from tests.integration.boltrics.orders import order_xml


async def processed(gateway: HttpxBoltricsGateway, message: DiMessage) -> DiMessage:
    """The message once the sandbox has processed it."""
    for _ in range(200):
        current = await gateway.get_message(message.id)
        if current.status != MessageStatus.NEW:
            return current
        await asyncio.sleep(0.01)
    raise AssertionError("the sandbox did not process the message")


class TestProcessing:
    """The sandbox processes orders as Boltrics would."""

    async def test_order_with_known_items_is_processed(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """An order for a known item becomes Processed and a shipment order."""
        await control.add_items("SKU-1")

        message = await gateway.submit(
            MessageType.RECEIVE_SHIPMENT, "order-1", order_xml("order-1", "SKU-1")
        )

        assert (await processed(gateway, message)).status == MessageStatus.PROCESSED
        orders = (await control.call("GET", "/shipment-orders"))["value"]
        assert [order["external_reference"] for order in orders] == ["order-1"]

    async def test_unknown_item_fails_the_message_naming_it(
        self, gateway: HttpxBoltricsGateway
    ) -> None:
        """An order line for an unknown item fails the message, naming the item."""
        message = await gateway.submit(
            MessageType.RECEIVE_SHIPMENT, "order-2", order_xml("order-2", "NOPE-9")
        )

        failed = await processed(gateway, message)
        assert failed.status == MessageStatus.FAILED
        assert "NOPE-9" in failed.error_text

    async def test_address_without_postcode_fails_the_message(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """A ship-to address without PostCode fails the message."""
        await control.add_items("SKU-1")
        address = Address(name="Ann", city="Utrecht", country_code="NL")

        message = await gateway.submit(
            MessageType.RECEIVE_SHIPMENT,
            "order-3",
            order_xml("order-3", "SKU-1", address=address),
        )

        failed = await processed(gateway, message)
        assert failed.status == MessageStatus.FAILED
        assert "PostCode" in failed.error_text


class TestShipmentsAndStock:
    """Outbound messages come back and are acknowledged."""

    async def test_shipped_order_is_reported_and_acknowledged(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """A shipped order yields a sendshipment with tracking, acknowledged."""
        await control.add_items("SKU-1")
        await gateway.submit(
            MessageType.RECEIVE_SHIPMENT, "order-4", order_xml("order-4", "SKU-1")
        )
        await control.call("POST", "/process")
        await control.call(
            "POST",
            "/shipments",
            {
                "externalReference": "order-4",
                "shippingAgentCode": "DHL",
                "trackingNumber": "3S1",
            },
        )

        new = [
            m
            async for m in gateway.list_messages(
                direction=Direction.OUTBOUND, status="New"
            )
        ]
        await gateway.acknowledge(new[0])
        await gateway.acknowledge(new[0])  # a stale etag: read again, already Processed

        confirmation = parse_shipment_confirmation(new[0].content)
        assert confirmation.external_reference == "order-4"
        assert confirmation.shipping_agent_code == "DHL"
        assert confirmation.tracking_number() == "3S1"
        left = [
            m
            async for m in gateway.list_messages(
                direction=Direction.OUTBOUND, status="New"
            )
        ]
        assert left == []

    async def test_stock_change_sends_a_stockstatus(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """Changing stock produces a stockstatus with the new figures."""
        await control.call(
            "PUT", "/stock", {"items": [{"externalNo": "A", "qtyInInventory": 5}]}
        )

        await control.call(
            "POST", "/stock/changes", {"items": [{"externalNo": "A", "delta": 3}]}
        )

        messages = [
            m
            async for m in gateway.list_messages(message_type=MessageType.STOCK_STATUS)
        ]
        status = parse_stock_status(messages[0].content)
        assert [(i.external_no, i.qty_in_inventory) for i in status.items] == [("A", 8)]


class TestErrorTable:
    """Each answer of the contract's error table gets its treatment."""

    async def test_bad_request_surfaces_boltrics_message(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """A 400 is raised at once with Boltrics' message, without retries."""
        with pytest.raises(BoltricsRejected) as caught:
            await gateway.submit("sendshipment", "ref-1", b"<x/>")

        assert "cannot be sent to Boltrics" in str(caught.value)
        assert (await control.stats())["calls"]["post_message"] == 1

    async def test_429_waits_at_least_retry_after(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """After a 429 with Retry-After 1, the call is repeated a second later."""
        await control.rate_limit(1)
        await gateway.find_by_reference("warm-up")

        started = time.monotonic()
        await gateway.find_by_reference("throttled")

        assert time.monotonic() - started >= 1.0
        assert (await control.stats())["calls"]["rate_limited"] >= 1

    async def test_call_never_outlives_its_deadline(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """With 2 s of added latency, a call with a 0.3 s deadline gives up in time."""
        await control.faults(get_message={"latencyMs": 2000})

        started = time.monotonic()
        with pytest.raises(BoltricsDeadlineExceeded):
            await gateway.get_message("any", deadline=started + 0.3)

        assert time.monotonic() - started < 0.6

    async def test_client_limiter_keeps_bursts_below_the_sandbox_limit(
        self, make_gateway: GatewayMaker, control: Control
    ) -> None:
        """Forty calls at once through a 19/s limiter earn no 429 at 20/s."""
        await control.rate_limit(20)
        gateway = make_gateway(limiter=RateLimiter(19), retry=RetryPolicy(attempts=1))

        await asyncio.gather(*(gateway.find_by_reference(f"r{n}") for n in range(40)))

        assert (await control.stats())["calls"].get("rate_limited", 0) == 0
