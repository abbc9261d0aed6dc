"""The stock service against a real sandbox over loopback HTTP, on both stores."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from service.adapters.boltrics import BoltricsGateway, BoltricsUnavailable, StockLevel
from service.adapters.store.stock import SqlStockStore
from service.adapters.store.stock_tables import stock_holds
from service.config import Account
from service.domain.events import EventType, NewEvent
from service.domain.orders import OrderState
from service.domain.stock import Figure
from service.errors import NotFound
from service.services.events import follow_events
from service.services.stock import PROJECTOR_PAGE, StockService
from tests.integration.boltrics.conftest import connection_to
from tests.integration.stock.conftest import ACCOUNT, Harness


class TestStockStatus:
    """The collector of Boltrics' stockstatus messages."""

    async def test_figures_apply_and_the_message_is_acknowledged(
        self, harness: Harness
    ) -> None:
        """A count in the warehouse becomes the product's level, and the message
        no longer shows as New."""
        await harness.add_products("A", "B")
        stock = harness.service()
        await stock.activate(ACCOUNT)

        await harness.change_stock(A=7)
        assert await stock.collect_once() == 1

        level = await stock.store.level(ACCOUNT, "A")
        assert (level.sellable, level.in_inventory) == (7, 7)
        assert await stock.collect_once() == 0
        payloads = [e.payload for e in await harness.stock_events()]
        assert payloads[-1]["external_no"] == "A"
        assert payloads[-1]["sellable"] == 7

    async def test_an_older_message_never_overwrites_newer_figures(
        self, harness: Harness
    ) -> None:
        """A stockstatus dated before the stored figure is ignored."""
        await harness.add_products("A")
        stock = harness.service()
        await harness.change_stock(A=5)
        await stock.collect_once()

        harness.send_status(datetime.now(UTC) - timedelta(minutes=5), [("A", "99")])
        await stock.collect_once()

        assert (await stock.store.level(ACCOUNT, "A")).sellable == 5

    async def test_a_bad_item_is_rejected_and_the_rest_applied(
        self, harness: Harness
    ) -> None:
        """Negative and non-numeric quantities leave their items out only."""
        await harness.add_products("A", "B", "C")
        stock = harness.service()

        harness.send_status(datetime.now(UTC), [("A", "-3"), ("B", "many"), ("C", "4")])
        await stock.collect_once()

        levels = {no: await stock.store.level(ACCOUNT, no) for no in "ABC"}
        assert levels["A"].as_of is None
        assert levels["B"].as_of is None
        assert levels["C"].sellable == 4

    async def test_an_unknown_external_no_is_kept_for_later(
        self, harness: Harness
    ) -> None:
        """Figures of an unknown item are stored, noted once, and pushed when the
        product becomes known."""
        stock = harness.service()
        await stock.activate(ACCOUNT)

        await harness.change_stock(NEW=3)
        await harness.change_stock(NEW=4)
        await stock.collect_once()
        assert await stock.store.unknown(ACCOUNT) == ["NEW"]
        assert (await stock.store.level(ACCOUNT, "NEW")).sellable == 4
        assert await harness.stock_events() == []

        await harness.add_products("NEW")
        await harness.product_changed("NEW")
        await stock.project_once()
        assert [e.payload["sellable"] for e in await harness.stock_events()] == [4]
        assert await stock.store.unknown(ACCOUNT) == []


class TestActivation:
    """Activating an account's stock link."""

    async def test_activation_pushes_every_known_product(
        self, harness: Harness
    ) -> None:
        """Every known product's level goes out at once, with its listings; a
        second activation pushes them again."""
        await harness.set_stock(A=2, B=0)
        await harness.add_products("A", "B", "C")
        stock = harness.service()

        pushed = await stock.activate(ACCOUNT)
        again = await stock.activate(ACCOUNT)

        assert (pushed, again) == (3, 3)
        first = [e.payload for e in await harness.stock_events()][:3]
        assert [(p["external_no"], p["sellable"]) for p in first] == [
            ("A", 2),
            ("B", 0),
            ("C", 0),
        ]
        assert first[0]["listings"][0]["product_id"] == "p-A"

    async def test_an_unknown_account_is_not_found(self, harness: Harness) -> None:
        """Levels of an account the settings do not know: NotFound."""
        stock = harness.service()

        with pytest.raises(NotFound):
            await stock.levels("nobody")


class TestFullSync:
    """The daily passive synchronisation."""

    async def test_drift_injected_in_the_warehouse_is_corrected(
        self, harness: Harness
    ) -> None:
        """Stock changed without a message is found, counted and pushed; levels
        that did not change are not pushed."""
        await harness.set_stock(A=5, B=5)
        await harness.add_products("A", "B")
        stock = harness.service()
        await stock.activate(ACCOUNT)
        before = len(await harness.stock_events())

        await harness.set_stock(A=9)
        report = await stock.full_sync(ACCOUNT)

        assert (report.levels, report.drifted, report.changed) == (2, 1, 1)
        events = (await harness.stock_events())[before:]
        assert [(e.payload["external_no"], e.payload["sellable"]) for e in events] == [
            ("A", 9)
        ]

    async def test_a_later_page_settles_an_order_processed_since_the_start(
        self, harness: Harness
    ) -> None:
        """An order Boltrics processes while a sync runs, before the sync asks
        for the page of its item: that page includes it, so its hold goes,
        and the level is not too low until the next figure."""
        await harness.set_stock(A=5, B=10)
        await harness.add_products("A", "B")
        await harness.service().full_sync(ACCOUNT)
        await harness.accept_order("o-1", OrderState.QUEUED, B=3)
        pages = _FirstPageHeld(harness)
        stock = _service_over(harness, pages)
        await stock.project_once()

        syncing = asyncio.create_task(stock.full_sync(ACCOUNT))
        await pages.holding.wait()
        await harness.accept_order("o-1", OrderState.PROCESSED, B=3)
        await stock.project_once()
        await harness.set_stock(B=7)  # Boltrics' figure includes the order
        await _next_second()
        pages.release.set()
        await syncing

        level = await stock.store.level(ACCOUNT, "B")
        assert (level.boltrics_available, level.reserved, level.sellable) == (7, 0, 7)

    async def test_an_item_boltrics_no_longer_lists_is_zeroed(
        self, harness: Harness
    ) -> None:
        """An item with a figure that the complete listing leaves out is one
        the warehouse no longer knows: it has nothing to sell, and subscribers
        hear so."""
        await harness.set_stock(A=5)
        await harness.add_products("A", "GONE")
        stock = harness.service()
        await stock.activate(ACCOUNT)
        harness.send_status(datetime.now(UTC), [("GONE", "4")])
        await stock.collect_once()
        before = len(await harness.stock_events())
        await _next_second()

        with capture_logs() as logs:
            report = await stock.full_sync(ACCOUNT)

        gone = await stock.store.level(ACCOUNT, "GONE")
        assert (gone.boltrics_available, gone.sellable) == (0, 0)
        assert (report.levels, report.drifted, report.changed) == (1, 1, 1)
        events = (await harness.stock_events())[before:]
        assert [(e.payload["external_no"], e.payload["sellable"]) for e in events] == [
            ("GONE", 0)
        ]
        assert [
            log["count"] for log in logs if log["event"] == "stock.unlisted_zeroed"
        ] == [1]

    async def test_a_listing_of_nothing_zeroes_nothing(self, harness: Harness) -> None:
        """A sync that lists no item at all (more likely a fault than an empty
        warehouse) leaves the figures as they are, and says so."""
        await harness.add_products("A")
        stock = harness.service()
        harness.send_status(datetime.now(UTC), [("A", "4")])
        await stock.collect_once()
        await _next_second()

        with capture_logs() as logs:
            report = await stock.full_sync(ACCOUNT)

        level = await stock.store.level(ACCOUNT, "A")
        assert (report.levels, level.boltrics_available) == (0, 4)
        assert "stock.full_sync_listed_nothing" in [log["event"] for log in logs]

    async def test_an_unchanged_figure_is_dated_anew_without_an_event(
        self, harness: Harness
    ) -> None:
        """A sync that finds the same figures dates them to itself and emits
        nothing, so a stockstatus older than that sync no longer applies."""
        await harness.set_stock(A=5)
        await harness.add_products("A")
        stock = harness.service()
        await stock.activate(ACCOUNT)
        first = (await stock.store.level(ACCOUNT, "A")).as_of
        before = len(await harness.stock_events())

        await _next_second()
        report = await stock.full_sync(ACCOUNT)
        second = (await stock.store.level(ACCOUNT, "A")).as_of
        assert first is not None and second is not None
        harness.send_status(second - timedelta(milliseconds=500), [("A", "99")])
        await stock.collect_once()

        assert (report.levels, report.drifted, report.changed) == (1, 0, 0)
        assert second > first
        assert (await stock.store.level(ACCOUNT, "A")).sellable == 5
        assert len(await harness.stock_events()) == before

    async def test_an_unchanged_figure_after_processing_releases_the_hold(
        self, harness: Harness
    ) -> None:
        """A figure equal to the stored one, dated after Boltrics processed an
        order, includes that order: the hold stops counting."""
        await harness.set_stock(A=10)
        await harness.add_products("A")
        stock = harness.service()
        await stock.full_sync(ACCOUNT)
        await harness.accept_order("o-1", OrderState.QUEUED, A=3)
        await stock.project_once()
        await harness.accept_order("o-1", OrderState.PROCESSED, A=3)
        await stock.project_once()
        held = await stock.store.level(ACCOUNT, "A")

        await _next_second()  # a receipt of 3 made up for the order: still 10
        await stock.full_sync(ACCOUNT)

        settled = await stock.store.level(ACCOUNT, "A")
        assert (held.sellable, held.reserved) == (7, 3)
        assert (settled.sellable, settled.reserved) == (10, 0)

    async def test_the_background_sync_runs_on_its_interval(
        self, harness: Harness
    ) -> None:
        """With a short interval, drift is corrected by `run` without a call."""
        await harness.set_stock(A=1)
        await harness.add_products("A")
        stock = harness.service(full_sync_seconds=0.4, poll_seconds=0.05)
        await stock.activate(ACCOUNT)
        stop = asyncio.Event()
        task = asyncio.create_task(stock.run(stop))

        await harness.set_stock(A=6)
        events = follow_events(
            harness.events, after=0, accounts=[ACCOUNT], types=[EventType.STOCK_CHANGED]
        )
        async with asyncio.timeout(10):
            async for event in events:
                if event.payload["sellable"] == 6:
                    break
        stop.set()
        await task


class TestOrders:
    """Orders from the channels against Boltrics' figures."""

    async def test_a_new_order_lowers_the_level_for_subscribers(
        self, harness: Harness
    ) -> None:
        """An accepted order reaches a WatchEvents-style subscriber as a lower
        level (bench/stock.py measures how soon)."""
        await harness.set_stock(A=10)
        await harness.add_products("A")
        stock = harness.service(poll_seconds=0.5)
        await stock.activate(ACCOUNT)
        after = await harness.events.last_cursor()
        stop = asyncio.Event()
        task = asyncio.create_task(stock.run(stop))
        events = follow_events(
            harness.events,
            after=after,
            accounts=[ACCOUNT],
            types=[EventType.STOCK_CHANGED],
        )

        await harness.accept_order("o-1", OrderState.QUEUED, A=3)
        async with asyncio.timeout(5):
            event = await anext(aiter(events))
        stop.set()
        await task

        assert (event.payload["sellable"], event.payload["reserved"]) == (7, 3)

    async def test_a_processed_order_is_counted_once(self, harness: Harness) -> None:
        """After Boltrics processed an order, a newer figure replaces the hold."""
        await harness.set_stock(A=10)
        await harness.add_products("A")
        stock = harness.service()
        await stock.full_sync(ACCOUNT)
        await harness.accept_order("o-1", OrderState.QUEUED, A=3)
        await stock.project_once()
        assert (await stock.store.level(ACCOUNT, "A")).sellable == 7

        await harness.accept_order("o-1", OrderState.PROCESSED, A=3)
        await stock.project_once()
        held = await stock.store.level(ACCOUNT, "A")
        await harness.set_stock(A=7)  # Boltrics' figure now includes the order
        await _next_second()  # figures are dated to the second
        await stock.full_sync(ACCOUNT)

        settled = await stock.store.level(ACCOUNT, "A")
        assert (held.sellable, held.reserved) == (7, 3)
        assert (settled.sellable, settled.reserved) == (7, 0)

    async def test_a_shipped_order_is_processed_and_later_orders_still_hold(
        self, harness: Harness
    ) -> None:
        """A shipment (whose event carries the shipment, not the order) marks
        the order processed: the next figure settles it, and orders after the
        shipment are held as before."""
        await harness.set_stock(A=10)
        await harness.add_products("A")
        stock = harness.service()
        await stock.full_sync(ACCOUNT)
        await harness.accept_order("o-1", OrderState.QUEUED, A=3)
        await harness.ship_order("o-1")
        await harness.accept_order("o-2", OrderState.QUEUED, A=2)
        await stock.project_once()
        both = await stock.store.level(ACCOUNT, "A")

        await _next_second()
        harness.send_status(datetime.now(UTC), [("A", "7")])  # o-1 has left
        await stock.collect_once()

        settled = await stock.store.level(ACCOUNT, "A")
        assert (both.sellable, both.reserved) == (5, 5)
        assert (settled.sellable, settled.reserved) == (5, 2)

    async def test_a_dead_order_keeps_holding_a_failed_one_releases(
        self, harness: Harness
    ) -> None:
        """Boltrics refused one order; the connector gave up on another, whose
        last post may have reached Boltrics: only the refused one's units are
        sellable again."""
        await harness.set_stock(A=10)
        await harness.add_products("A")
        stock = harness.service()
        await stock.full_sync(ACCOUNT)
        await harness.accept_order("o-1", OrderState.QUEUED, A=3)
        await harness.accept_order("o-2", OrderState.QUEUED, A=2)
        await harness.accept_order("o-1", OrderState.FAILED, A=3)
        await harness.accept_order("o-2", OrderState.DEAD, A=2)

        await stock.project_once()

        level = await stock.store.level(ACCOUNT, "A")
        assert (level.sellable, level.reserved) == (8, 2)

    async def test_an_unreadable_order_event_is_passed_over(
        self, harness: Harness
    ) -> None:
        """An order event the projector cannot read is logged and passed, so
        that the orders after it still hold stock."""
        await harness.set_stock(A=10)
        await harness.add_products("A")
        stock = harness.service()
        await stock.full_sync(ACCOUNT)
        await harness.append_event(EventType.ORDER_ACCEPTED, {"order": "garbled"})
        await harness.accept_order("o-1", OrderState.QUEUED, A=3)

        with capture_logs() as logs:
            await stock.project_once()

        level = await stock.store.level(ACCOUNT, "A")
        assert (level.sellable, level.reserved) == (7, 3)
        assert [log["event"] for log in logs if log["log_level"] == "error"] == [
            "stock.event_unreadable"
        ]

    async def test_a_figure_between_two_processed_orders_settles_the_first(
        self, harness: Harness
    ) -> None:
        """A figure dated after one order was processed and before another
        includes the first only: that hold is forgotten, the other counts."""
        await harness.set_stock(A=10)
        await harness.add_products("A")
        stock = harness.service()
        await stock.full_sync(ACCOUNT)
        await harness.accept_order("o-1", OrderState.QUEUED, A=3)
        await harness.accept_order("o-2", OrderState.QUEUED, A=2)
        await harness.accept_order("o-1", OrderState.PROCESSED, A=3)
        await stock.project_once()
        await _next_second()
        figure_date = datetime.now(UTC).replace(microsecond=0)
        await _next_second()
        await harness.accept_order("o-2", OrderState.PROCESSED, A=2)
        await stock.project_once()
        both = await stock.store.level(ACCOUNT, "A")

        # Boltrics' 7 includes o-1's 3 units, not o-2's 2.
        harness.send_status(figure_date, [("A", "7")])
        await stock.collect_once()

        settled = await stock.store.level(ACCOUNT, "A")
        assert (both.sellable, both.reserved) == (5, 5)
        assert (settled.sellable, settled.reserved) == (5, 2)
        async with harness.database.read() as conn:
            left = await conn.execute(sa.select(stock_holds.c.order_id))
            assert [row.order_id for row in left] == ["o-2"]

    async def test_sync_stock_streams_a_selection(self, harness: Harness) -> None:
        """All levels, those among given ExternalNos, and those changed since."""
        await harness.set_stock(A=1, B=2, C=3)
        await harness.add_products("A", "B", "C")
        stock = harness.service()
        await stock.full_sync(ACCOUNT)
        mark = datetime.now(UTC)
        await harness.change_stock(B=5)
        await stock.collect_once()

        every = [v.external_no async for v in await stock.levels(ACCOUNT)]
        some = [
            v.sellable
            async for v in await stock.levels(ACCOUNT, external_nos=["C", "A", "X"])
        ]
        since = [
            v.external_no async for v in await stock.levels(ACCOUNT, changed_since=mark)
        ]

        assert (every, some, since) == (["A", "B", "C"], [1, 3], ["B"])


class TestFullSyncCommits:
    """A full sync's commits: shared by pages, without holding up the store,
    kept when Boltrics fails, and a failed sync tried again soon."""

    async def test_pages_before_a_boltrics_failure_stay_corrected(
        self, harness: Harness
    ) -> None:
        """A sync that Boltrics cuts off after two pages keeps the corrections
        of those two pages, though they shared a transaction."""
        await harness.set_stock(A=5, B=5, C=5)
        await harness.add_products("A", "B", "C")
        stock = harness.service()
        await stock.activate(ACCOUNT)
        await harness.set_stock(A=9, B=9, C=9)
        pages = _PageByPage(harness, fail_after=2)
        stock = _service_over(harness, pages)

        with pytest.raises(BoltricsUnavailable):
            await stock.full_sync(ACCOUNT)

        levels = [(await stock.store.level(ACCOUNT, no)).sellable for no in "ABC"]
        assert levels == [9, 9, 5]

    async def test_a_page_slow_to_come_does_not_hold_the_store(
        self, harness: Harness
    ) -> None:
        """While the sync waits for a slow page, what it stored is committed:
        a reader sees it, and the sync then goes on."""
        await harness.set_stock(A=5, B=5)
        await harness.add_products("A", "B")
        await harness.service().activate(ACCOUNT)
        await harness.set_stock(A=9, B=9)
        pages = _PageByPage(harness, hold_after=1)
        stock = _service_over(harness, pages)

        syncing = asyncio.create_task(stock.full_sync(ACCOUNT))
        await asyncio.wait_for(pages.holding.wait(), 5)
        seen = await asyncio.wait_for(_level_once(stock.store, "A", 9), 5)
        waiting = not syncing.done()
        pages.release.set()
        report = await syncing

        assert seen == 9 and waiting
        assert (report.levels, report.drifted) == (2, 2)
        assert (await stock.store.level(ACCOUNT, "B")).sellable == 9

    @pytest.mark.parametrize("first", ["daily", "activation"])
    async def test_a_failed_sync_is_due_again_after_a_short_wait(
        self, harness: Harness, first: str
    ) -> None:
        """A sync that Boltrics cuts off (the daily one, or the one activation
        starts with) is due again five minutes later, not a day later; not
        before then."""
        await harness.set_stock(A=5, B=5)
        await harness.add_products("A", "B")
        await harness.set_stock(A=9, B=9)
        failing = _PageByPage(harness, fail_after=1)
        clock = _Clock(datetime.now(UTC))
        gateways: list[Any] = [failing, harness.gateway]
        account = Account(id=ACCOUNT, boltrics=connection_to(harness.sandbox, "x"))
        stock = StockService(
            harness.database,
            harness.events,
            lambda _name: gateways[0],
            lambda _name: account,
            lambda: [ACCOUNT],
            full_sync_seconds=86_400,
            clock=clock,
        )

        if first == "daily":
            assert await stock.sync_due() == 0
        else:
            await stock.activate(ACCOUNT)
        gateways.pop(0)
        clock.now += timedelta(minutes=4)
        too_soon = await stock.sync_due()
        clock.now += timedelta(minutes=2)
        retried = await stock.sync_due()

        assert (too_soon, retried) == (0, 1)
        levels = [(await stock.store.level(ACCOUNT, no)).sellable for no in "AB"]
        assert levels == [9, 9]


class _Clock:
    """A wall clock the test moves."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class _PageByPage:
    """The sandbox's stock levels a level per page, failing or holding back
    the pages after the first few."""

    def __init__(self, harness: Harness, *, fail_after: int = 0, hold_after: int = 0):
        self._gateway = harness.gateway
        self._fail_after = fail_after
        self._hold_after = hold_after
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def stock_level_pages(
        self, *, page_size: int = 1000
    ) -> AsyncIterator[list[StockLevel]]:
        sent = 0
        async for page in self._gateway.stock_level_pages(page_size=1):
            if sent == self._fail_after > 0:
                msg = "Boltrics went away"
                raise BoltricsUnavailable(msg)
            if sent == self._hold_after > 0:
                self.holding.set()
                await self.release.wait()
            yield page
            sent += 1


class _FirstPageHeld:
    """The sandbox's stock levels a level per page, the first page held back
    (read, not yet handed over) until released."""

    def __init__(self, harness: Harness):
        self._gateway = harness.gateway
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def stock_level_pages(
        self, *, page_size: int = 1000
    ) -> AsyncIterator[list[StockLevel]]:
        first = True
        async for page in self._gateway.stock_level_pages(page_size=1):
            if first:
                self.holding.set()
                await self.release.wait()
                first = False
            yield page


def _service_over(
    harness: Harness, pages: _PageByPage | _FirstPageHeld
) -> StockService:
    account = Account(id=ACCOUNT, boltrics=connection_to(harness.sandbox, "x"))
    return StockService(
        harness.database,
        harness.events,
        lambda _name: cast(BoltricsGateway, pages),
        lambda _name: account,
        lambda: [ACCOUNT],
    )


class TestConcurrentWriters:
    """A full sync's pages share a transaction while stockstatus messages are
    applied: on PostgreSQL neither may end as a deadlock's victim."""

    async def test_a_message_between_a_syncs_pages_waits_its_turn(
        self, harness: Harness
    ) -> None:
        """The sync has emitted (first page) and will lock B (next page); the
        message about B comes between: both complete."""
        await harness.add_products("A", "B")
        stock = harness.service()
        await stock.activate(ACCOUNT)
        began = datetime.now(UTC).replace(microsecond=0)
        later = began + timedelta(seconds=1)

        async def page_two_locks(txn: Any) -> None:
            await txn.redate_unchanged(ACCOUNT, [("B", 9, 9)], began)

        results = await _sync_meets_message(
            stock.store,
            first_page={"A": Figure(5, 5, began)},
            page_two=page_two_locks,
            message={"B": Figure(3, 3, later)},
        )

        assert results == [None, None]
        level = await stock.store.level(ACCOUNT, "B")
        assert (level.boltrics_available, level.as_of) == (3, later)

    async def test_pages_out_of_external_no_order_do_not_deadlock(
        self, harness: Harness
    ) -> None:
        """Boltrics pages N before B; a message locks B, then wants N."""
        await harness.add_products("B", "N")
        stock = harness.service()
        began = datetime.now(UTC).replace(microsecond=0)
        later = began + timedelta(seconds=1)
        async with stock.store.transaction() as txn:
            figures = {"B": Figure(1, 1, began), "N": Figure(1, 1, began)}
            await txn.settle(ACCOUNT, (), began, figures)

        async def page_two_locks(txn: Any) -> None:
            await txn.redate_unchanged(ACCOUNT, [("B", 1, 1)], began)

        results = await _sync_meets_message(
            stock.store,
            first_page={"N": Figure(1, 1, began)},
            page_two=page_two_locks,
            message={"B": Figure(2, 2, later), "N": Figure(2, 2, later)},
        )

        assert results == [None, None]
        level = await stock.store.level(ACCOUNT, "N")
        assert (level.boltrics_available, level.as_of) == (2, later)


async def _sync_meets_message(
    store: SqlStockStore,
    first_page: dict[str, Figure],
    page_two: Any,
    message: dict[str, Figure],
) -> list[BaseException | None]:
    """A sync's transaction applies its first page, then (once the message's
    transaction has begun, or a second has passed: it may have to wait its
    turn) its second; the message is applied meanwhile. Each one's exception,
    if any."""
    first_done, message_began = asyncio.Event(), asyncio.Event()

    async def sync() -> None:
        async with store.transaction() as txn:
            as_of = next(iter(first_page.values())).as_of
            await txn.settle(ACCOUNT, (), as_of, first_page)
            first_done.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(message_began.wait(), 1)
            await asyncio.sleep(0.2)
            await page_two(txn)

    async def apply_message() -> None:
        await first_done.wait()
        async with store.transaction() as txn:
            message_began.set()
            as_of = next(iter(message.values())).as_of
            await txn.settle(ACCOUNT, (), as_of, message)

    results = await asyncio.wait_for(
        asyncio.gather(sync(), apply_message(), return_exceptions=True), 30
    )
    return [r if isinstance(r, BaseException) else None for r in results]


class TestRedating:
    """A full sync's page: unchanged figures are dated anew, nothing else."""

    async def test_only_the_pages_unchanged_figures_get_the_new_date(
        self, harness: Harness
    ) -> None:
        """Of A to E stored, a page of A, C (changed) and E dates A and E anew;
        C is left to settle, and B and D, between them but not on the page,
        keep their date."""
        store = harness.service().store
        then = datetime(2026, 12, 1, tzinfo=UTC)
        await _store_figures(store, then, "A", "B", "C", "D", "E")
        later = then + timedelta(hours=1)

        async with store.transaction() as txn:
            same = await txn.redate_unchanged(
                ACCOUNT, [("A", 5, 5), ("C", 6, 6), ("E", 5, 5)], later
            )

        assert same == {"A", "E"}
        assert await _dates(store, "A", "B", "C", "D", "E") == [
            later,
            then,
            then,
            then,
            later,
        ]

    async def test_a_page_whose_range_spans_many_other_items_is_still_right(
        self, harness: Harness
    ) -> None:
        """Boltrics' pages need not come in ExternalNo order: a page of the first
        and the last of ten stored items dates those two, and only those."""
        store = harness.service().store
        then = datetime(2026, 12, 1, tzinfo=UTC)
        names = [f"N-{n:02d}" for n in range(10)]
        await _store_figures(store, then, *names)
        later = then + timedelta(hours=1)

        async with store.transaction() as txn:
            same = await txn.redate_unchanged(
                ACCOUNT, [("N-00", 5, 5), ("N-09", 5, 5)], later
            )

        assert same == {"N-00", "N-09"}
        dates = await _dates(store, *names)
        assert dates == [later] + [then] * 8 + [later]


async def _level_once(store: SqlStockStore, external_no: str, wanted: int) -> int:
    """The item's sellable level, once it is `wanted` (polled: the store has
    no signal for a commit of another task)."""
    for _ in itertools.count():
        if (level := await store.level(ACCOUNT, external_no)).sellable == wanted:
            return level.sellable
        await asyncio.sleep(0.01)
    raise AssertionError("unreachable")


async def _store_figures(store: SqlStockStore, as_of: datetime, *nos: str) -> None:
    """Store a figure of 5 available and 5 in inventory for each item."""
    async with store.transaction() as txn:
        await txn.settle(ACCOUNT, (), as_of, {no: Figure(5, 5, as_of) for no in nos})


async def _dates(store: SqlStockStore, *nos: str) -> list[datetime | None]:
    return [(await store.level(ACCOUNT, no)).as_of for no in nos]


async def _next_second() -> None:
    """Wait until the wall clock has entered the next whole second."""
    now = datetime.now(UTC)
    await asyncio.sleep(1.01 - now.microsecond / 1_000_000)


class TestProjectorCursor:
    """The projector's cursor passes the events it does not follow, so that
    retention can remove them."""

    async def _other_events(self, harness: Harness, count: int) -> None:
        """Append `count` events of a kind the projector does not follow."""
        async with harness.database.write() as conn:
            await harness.events.append(
                conn,
                [
                    NewEvent(
                        account_id=ACCOUNT, type=EventType.STOCK_CHANGED, payload={}
                    )
                    for _ in range(count)
                ],
            )

    async def test_a_page_passes_the_other_events_behind_it(
        self, harness: Harness
    ) -> None:
        """An order event followed by stock events: the cursor ends at the last."""
        await harness.add_products("A")
        stock = harness.service()
        await harness.accept_order("o-1", OrderState.QUEUED, A=1)
        await self._other_events(harness, 3)

        await stock.project_once()

        assert await stock.store.position() == await harness.events.last_cursor()
        assert (await stock.store.level(ACCOUNT, "A")).reserved == 1

    async def test_a_page_of_other_events_only_is_passed(
        self, harness: Harness
    ) -> None:
        """A full page's worth of events it does not follow moves the cursor too."""
        stock = harness.service()
        await self._other_events(harness, PROJECTOR_PAGE)

        projected = await stock.project_once()

        assert projected == 0
        assert await stock.store.position() == await harness.events.last_cursor()

    async def test_a_few_other_events_wait_for_more(self, harness: Harness) -> None:
        """Fewer than a page of them: no write just to move the cursor."""
        stock = harness.service()
        await self._other_events(harness, 3)

        await stock.project_once()

        assert await stock.store.position() == 0
