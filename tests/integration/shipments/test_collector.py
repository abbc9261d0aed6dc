"""The collector against the sandbox: applied once, acknowledged after storing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from structlog.testing import capture_logs

from service.adapters.boltrics import BoltricsUnavailable, DiMessage
from service.adapters.parsing import ParsingPool
from service.adapters.store.orders import SqlOrderStore
from service.domain.events import EventType
from service.domain.orders import OrderState, TimelineKind
from service.services.shipments import CHUNK
from tests.integration.shipments.conftest import ACCOUNT, Harness
from tests.unit.shipments.documents import HOSTILE, MALFORMED, sendshipment_xml


class TestCollect:
    async def test_method_change_shows_on_order_timeline_and_one_event(
        self, harness: Harness
    ) -> None:
        """Shipped with DHL instead of POSTNL: order, timeline and one event say so."""
        await harness.add_order("o-1", "POSTNL")
        await harness.ship("o-1", shippingAgentCode="DHL", trackingNumber="3S123")

        await harness.service().collect_once()

        record = await harness.orders.get(ACCOUNT, "o-1")
        assert record is not None
        assert (record.state, record.method_used) == (OrderState.SHIPPED, "DHL")
        timeline = await harness.orders.timeline(ACCOUNT, "o-1")
        changed = [e for e in timeline if e.kind is TimelineKind.METHOD_CHANGED]
        assert [e.message for e in changed] == [
            "shipping method changed from 'POSTNL' to 'DHL'"
        ]
        events = await harness.events_of(EventType.ORDER_SHIPPED)
        assert len(events) == 1
        assert events[0].payload["tracking_number"] == "3S123"
        assert events[0].payload["method_changed"] is True
        assert await harness.new_messages() == []

    async def test_no_tracking_number_is_none(self, harness: Harness) -> None:
        """A shipment without track & trace gives None, never an empty string."""
        await harness.add_order("o-1")
        await harness.ship("o-1")

        await harness.service().collect_once()

        [event] = await harness.events_of(EventType.ORDER_SHIPPED)
        assert event.payload["tracking_number"] is None
        assert event.payload["method_changed"] is False
        [result] = await harness.service().shipments_of(ACCOUNT, "o-1")
        assert result.tracking_number is None

    async def test_tracking_attribute_codes_are_settings(
        self, harness: Harness
    ) -> None:
        """With other attribute codes configured, the number is read from them."""
        connection = harness.account.boltrics
        assert connection is not None
        harness.account = harness.account.model_copy(
            update={
                "boltrics": connection.model_copy(
                    update={"track_trace_attribute": "TT"}
                )
            }
        )
        await harness.add_order("o-1")
        await harness.ship("o-1", trackingNumber="3S9", trackTraceCode="TT")

        await harness.service().collect_once()

        [result] = await harness.service().shipments_of(ACCOUNT, "o-1")
        assert result.tracking_number == "3S9"

    async def test_unknown_order_is_stored_surfaced_and_adopted_later(
        self, harness: Harness
    ) -> None:
        """No such order: a rejection event, acknowledged, the next one applied;
        once the order is known the stored shipment is applied."""
        harness.warehouse_order("ghost")
        await harness.ship("ghost")
        await harness.add_order("o-2")
        await harness.ship("o-2")
        service = harness.service()

        await service.collect_once()

        [rejected] = await harness.events_of(EventType.SHIPMENT_REJECTED)
        assert rejected.payload["order_id"] == "ghost"
        assert "not known" in rejected.payload["reason"]
        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 1
        assert await harness.new_messages() == []

        await harness.add_order("ghost")
        await service.collect_once()
        await service.collect_once()

        shipped = await harness.events_of(EventType.ORDER_SHIPPED)
        assert sorted(e.payload["order_id"] for e in shipped) == ["ghost", "o-2"]
        record = await harness.orders.get(ACCOUNT, "ghost")
        assert record is not None and record.state is OrderState.SHIPPED

    async def test_bad_documents_are_rejected_acknowledged_and_passed(
        self, harness: Harness
    ) -> None:
        """Malformed, hostile and reference-less documents are stored as rejected,
        acknowledged and reported; the good one behind them is applied."""
        harness.outbound(MALFORMED, "bad-1")
        harness.outbound(HOSTILE, "bad-2")
        harness.outbound(sendshipment_xml(order_id=""), "bad-3")
        await harness.add_order("o-1")
        await harness.ship("o-1")

        await harness.service().collect_once()
        await harness.service().collect_once()

        rejected = await harness.events_of(EventType.SHIPMENT_REJECTED)
        reasons = [event.payload["reason"] for event in rejected]
        assert len(reasons) == 3
        assert "not well-formed" in reasons[0]
        assert "DTD or entities" in reasons[1]
        assert "ExternalReference is missing" in reasons[2]
        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 1
        assert await harness.new_messages() == []


class TestOddValues:
    """Values a parser would accept but the store or the calendar would not,
    and identifiers in indented XML."""

    async def test_each_odd_document_is_rejected_or_read_and_the_rest_applied(
        self, harness: Harness
    ) -> None:
        """A creation time beyond the calendar in UTC and a shipment number
        longer than the store keeps are rejected with their reasons (on both
        stores); an indented reference is read as the order's id; the good
        document among them is applied, and nothing is left New."""
        beyond = re.sub(
            rb"<CreationDateTime>[^<]*<",
            b"<CreationDateTime>0001-01-01T00:30:00+01:00<",
            sendshipment_xml("o-1", shipment_no="UIT-A"),
        )
        harness.outbound(beyond, "odd-1")
        harness.outbound(sendshipment_xml("o-1", shipment_no="S" * 129), "odd-2")
        indented = sendshipment_xml("o-2", shipment_no="UIT-B").replace(
            b"<ExternalReference>o-2<", b"<ExternalReference>\n    o-2\n  <"
        )
        harness.outbound(indented, "odd-3")
        await harness.add_order("o-1")
        await harness.add_order("o-2")
        await harness.ship("o-1")

        await harness.service().collect_once()
        await harness.service().collect_once()

        rejected = await harness.events_of(EventType.SHIPMENT_REJECTED)
        reasons = [event.payload["reason"] for event in rejected]
        assert len(reasons) == 2
        assert "out of range" in reasons[0]
        assert "at most 128" in reasons[1]
        shipped = await harness.events_of(EventType.ORDER_SHIPPED)
        assert sorted(e.payload["order_id"] for e in shipped) == ["o-1", "o-2"]
        assert await harness.new_messages() == []


class TestOneRound:
    """Confirmations that meet in one page are handled as if one by one."""

    async def test_the_same_confirmation_twice_in_a_page_is_applied_once(
        self, harness: Harness
    ) -> None:
        """Two messages with one confirmation: one result and one event, in the
        page's own transaction; both messages acknowledged."""
        await harness.add_order("o-1", "POSTNL")
        harness.outbound(sendshipment_xml("o-1"), "o-1")
        harness.outbound(sendshipment_xml("o-1"), "o-1")

        with capture_logs() as logs:
            handled = await harness.service().collect_once()

        assert handled == 2
        assert "shipments.chunk_failed" not in [log["event"] for log in logs]
        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 1
        results = await harness.service().shipments_of(ACCOUNT, "o-1")
        assert [r.shipment_no for r in results] == ["UIT-000001"]
        assert await harness.new_messages() == []

    async def test_a_split_shipment_in_one_page_sees_the_first_part(
        self, harness: Harness
    ) -> None:
        """Two shipment numbers of one order in one page: two results, and the
        second starts from the order as the first left it."""
        await harness.add_order("o-1", "POSTNL")
        harness.outbound(sendshipment_xml("o-1", shipment_no="UIT-1"), "o-1")
        harness.outbound(sendshipment_xml("o-1", shipment_no="UIT-2"), "o-1")

        await harness.service().collect_once()

        results = await harness.service().shipments_of(ACCOUNT, "o-1")
        assert [r.shipment_no for r in results] == ["UIT-1", "UIT-2"]
        assert [[e.kind for e in r.timeline] for r in results] == [
            [TimelineKind.SHIPPED, TimelineKind.METHOD_CHANGED],
            [TimelineKind.SHIPPED],
        ]
        timeline = await harness.orders.timeline(ACCOUNT, "o-1")
        changed = [e for e in timeline if e.kind is TimelineKind.METHOD_CHANGED]
        assert len(changed) == 1
        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 2


class TestParsedInAWorker:
    async def test_pages_parsed_by_a_worker_give_the_same_results(
        self, harness: Harness
    ) -> None:
        """Pages parsed in a worker process while the page before is stored: every
        good confirmation applied once, every bad document rejected, all
        acknowledged."""
        for n in range(CHUNK + 20):
            await harness.add_order(f"o-{n}")
            harness.outbound(sendshipment_xml(f"o-{n}"), f"o-{n}")
        harness.outbound(MALFORMED, "bad-1")
        harness.outbound(HOSTILE, "bad-2")
        parsers = ParsingPool(1, min_batch=2)
        await parsers.started()
        try:
            handled = await harness.service(parsers=parsers).collect_once()
        finally:
            parsers.close()

        assert handled == CHUNK + 22
        shipped = await harness.events_of(EventType.ORDER_SHIPPED)
        assert sorted(e.payload["order_id"] for e in shipped) == sorted(
            f"o-{n}" for n in range(CHUNK + 20)
        )
        rejected = await harness.events_of(EventType.SHIPMENT_REJECTED)
        assert len(rejected) == 2
        assert await harness.new_messages() == []


class FakeFailingParsers:
    """Parses inline, except that parsing the first page fails (a worker that
    sent back something unusable, say)."""

    def __init__(self) -> None:
        self.pages = 0

    def parse(
        self, parser: Callable[[bytes, Any], Any], documents: list[bytes], arg: Any
    ) -> Awaitable[list[Any]]:
        self.pages += 1
        return self._parse(self.pages == 1, parser, documents, arg)

    async def _parse(
        self,
        fail: bool,
        parser: Callable[[bytes, Any], Any],
        documents: list[bytes],
        arg: Any,
    ) -> list[Any]:
        if fail:
            msg = "the parsing worker sent back nothing usable"
            raise RuntimeError(msg)
        return [parser(document, arg) for document in documents]


class TestParsingFails:
    async def test_a_page_that_cannot_be_parsed_waits_for_the_next_round(
        self, harness: Harness
    ) -> None:
        """Parsing the first page fails: the account's round fails (logged, and
        the round goes on to other accounts), but the page after it is stored
        and acknowledged; the first page stays New, and the next round stores
        it. Every order ships once."""
        for n in range(CHUNK + 5):
            await harness.add_order(f"o-{n}")
            harness.outbound(sendshipment_xml(f"o-{n}"), f"o-{n}")
        failing = FakeFailingParsers()

        with capture_logs() as logs:
            await harness.service(parsers=failing).collect_once()  # type: ignore[arg-type]  # a stand-in pool
        assert "shipments.collect_failed" in [log["event"] for log in logs]
        after_failure = len(await harness.events_of(EventType.ORDER_SHIPPED))
        left_new = len(await harness.new_messages())
        await harness.service().collect_once()

        assert after_failure == 5
        assert left_new == CHUNK
        shipped = await harness.events_of(EventType.ORDER_SHIPPED)
        assert sorted(e.payload["order_id"] for e in shipped) == sorted(
            f"o-{n}" for n in range(CHUNK + 5)
        )
        assert await harness.new_messages() == []


class _ListingBreaksOff:
    """The real gateway, except that the listing fails after `after` messages."""

    def __init__(self, harness: Harness, after: int) -> None:
        self._harness = harness
        self._after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._harness.gateway, name)

    async def list_messages(self, **filters: Any) -> AsyncIterator[DiMessage]:
        listed = 0
        async for message in self._harness.gateway.list_messages(**filters):
            if listed == self._after:
                raise BoltricsUnavailable("Boltrics went away mid-listing")
            listed += 1
            yield message


class TestListingBreaksOff:
    async def test_what_was_stored_is_acknowledged(self, harness: Harness) -> None:
        """A listing that fails after the first page: that page's messages are
        stored and acknowledged; the rest stay New for the next round."""
        for n in range(CHUNK + 5):
            await harness.add_order(f"o-{n}")
            harness.outbound(sendshipment_xml(f"o-{n}"), f"o-{n}")
        breaking = _ListingBreaksOff(harness, after=CHUNK)

        await harness.service(breaking).collect_once()  # type: ignore[arg-type]  # a stand-in gateway

        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == CHUNK
        assert len(await harness.new_messages()) == 5


class _HangingAcks:
    """The real gateway, except that acknowledging hangs, as if the process died.

    It checks that the shipment was stored before the acknowledgement began.
    """

    def __init__(self, harness: Harness) -> None:
        self._harness = harness
        self.started = asyncio.Event()
        self.stored_first: list[bool] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._harness.gateway, name)

    async def acknowledge(self, message: DiMessage, **_: Any) -> None:
        events = await self._harness.events_of(EventType.ORDER_SHIPPED)
        self.stored_first.append(len(events) == 1)
        self.started.set()
        await asyncio.Event().wait()


class TestCrashBetweenStoreAndAcknowledge:
    async def test_repeat_after_crash_is_harmless(self, harness: Harness) -> None:
        """Killed after storing and before acknowledging: the message stays New,
        and collecting it again changes nothing and emits nothing."""
        await harness.add_order("o-1", "POSTNL")
        await harness.ship("o-1", shippingAgentCode="DHL")
        hanging = _HangingAcks(harness)
        task = asyncio.create_task(harness.service(hanging).collect_once())  # type: ignore[arg-type]  # a stand-in gateway
        await asyncio.wait_for(hanging.started.wait(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        timeline = await harness.orders.timeline(ACCOUNT, "o-1")
        assert hanging.stored_first == [True]
        assert len(await harness.new_messages()) == 1

        await harness.service().collect_once()

        assert len(await harness.events_of(EventType.ORDER_SHIPPED)) == 1
        assert await harness.orders.timeline(ACCOUNT, "o-1") == timeline
        assert await harness.new_messages() == []


class TestFaultsAndRestarts:
    async def test_thousand_shipments_with_faults_and_two_restarts(
        self, harness: Harness
    ) -> None:
        """1,000 shipments, 5xx and resets on listing and acknowledging, collector
        killed twice: every order's result is emitted exactly once."""
        count = 1000
        for index in range(count):
            await harness.add_order(f"o-{index}", "POSTNL")
        company = harness.sandbox.sandbox.companies.get(harness.company_id)
        for index in range(count):
            agent = "DHL" if index % 3 == 0 else "POSTNL"
            harness.sandbox.sandbox.ship(
                company, {"externalReference": f"o-{index}", "shippingAgentCode": agent}
            )
        fault = {"errorRate": 0.2, "resetRate": 0.1}
        await harness.control.faults(list_messages=fault, patch_message=fault)

        for stop_after in (count // 3, 2 * count // 3):
            await _run_until(harness, stop_after)
        await _run_until(harness, count)
        await harness.control.call("DELETE", "/faults")
        await harness.service().collect_once()

        shipped = await harness.events_of(EventType.ORDER_SHIPPED)
        per_order: dict[str, int] = {}
        for event in shipped:
            per_order[event.payload["order_id"]] = (
                per_order.get(event.payload["order_id"], 0) + 1
            )
        assert len(per_order) == count
        assert set(per_order.values()) == {1}
        assert await harness.new_messages() == []
        assert await _shipped(harness.orders, count) == count


async def _run_until(harness: Harness, events: int) -> None:
    """Run a collector until `events` shipments were emitted, then kill it."""
    stop = asyncio.Event()
    task = asyncio.create_task(harness.service().run(stop))
    async with asyncio.timeout(60):
        while len(await harness.events_of(EventType.ORDER_SHIPPED)) < events:
            await harness.events.signal.wait(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _shipped(orders: SqlOrderStore, limit: int) -> int:
    return len(await orders.in_state(OrderState.SHIPPED, limit=limit * 2))
