"""Submissions arrive exactly once however the sandbox misbehaves."""

from __future__ import annotations

import asyncio
from collections import Counter

from service.adapters.boltrics import HttpxBoltricsGateway, MessageType
from tests.integration.boltrics.conftest import Control
from tests.integration.boltrics.orders import order_xml

CONCURRENCY = 50


async def submit_all(gateway: HttpxBoltricsGateway, references: list[str]) -> None:
    """Submit one order per reference, CONCURRENCY at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def submit(reference: str) -> None:
        async with gate:
            await gateway.submit(
                MessageType.RECEIVE_SHIPMENT, reference, order_xml(reference, "SKU-1")
            )

    await asyncio.gather(*(submit(reference) for reference in references))


async def inbound_counts(control: Control) -> Counter[str]:
    """How many inbound messages the sandbox holds per external reference."""
    messages = (await control.call("GET", "/messages?direction=Inbound"))["value"]
    return Counter(message["externalReference"] for message in messages)


class TestExactlyOnce:
    """Faults never lose or duplicate a submission."""

    async def test_five_hundred_submissions_through_5xx_and_429(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """With 30% 5xx and 10% 429 answers, 500 submissions each arrive once."""
        await control.add_items("SKU-1")
        await control.faults(
            **{"*": {"errorRate": 0.3, "throttleRate": 0.1, "retryAfter": 0.01}}
        )
        references = [f"order-{number}" for number in range(500)]

        await submit_all(gateway, references)

        counts = await inbound_counts(control)
        assert set(counts) == set(references)
        assert set(counts.values()) == {1}

    async def test_two_hundred_submissions_through_resets_after_processing(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """With resets after processing a POST, 200 orders exist once each."""
        await control.add_items("SKU-1")
        await control.faults(post_message={"resetRate": 0.3})
        references = [f"order-{number}" for number in range(200)]

        await submit_all(gateway, references)
        await control.call("POST", "/process")

        counts = await inbound_counts(control)
        orders = await control.call("GET", "/shipment-orders")
        assert set(counts.values()) == {1} and len(counts) == 200
        assert len(orders["value"]) == 200
        assert orders["sharingExternalReference"] == 0
        calls = (await control.stats())["calls"]
        assert calls["post_message"] == 200
        assert calls["list_messages"] > 0
