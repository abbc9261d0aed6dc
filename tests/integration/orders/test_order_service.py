"""The order use cases and the dispatcher on a real store, with a fake Boltrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from service.adapters.boltrics import (
    BoltricsRejected,
    BoltricsTransientError,
    DiMessage,
)
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.orders import SqlOrderStore
from service.adapters.store.product_tables import product_listings, products
from service.config import Account, BoltricsConnection, OrderSettings, SecretRef
from service.domain.events import EventType
from service.domain.orders import (
    Order,
    OrderLine,
    OrderRecord,
    OrderState,
    TimelineKind,
)
from service.errors import FailedPrecondition, InvalidArgument
from service.services.dispatcher import OrderDispatcher
from service.services.orders import OrderService, Outcome
from service.services.verdicts import VerdictFollower
from tests.support.fakes import FakeClock, FakeDecider, FakeGateway, FakeStatuses
from tests.support.orders import an_order

ACCOUNT = Account(
    id="acme",
    boltrics=BoltricsConnection(
        base_url="http://boltrics.invalid",
        company_id="c",
        token_url="http://boltrics.invalid/token",
        client_id="x",
        client_secret=SecretRef(env="UNUSED"),
    ),
)


@dataclass
class World:
    """A real store with the order service and dispatcher around a fake Boltrics."""

    orders: OrderService
    dispatcher: OrderDispatcher
    store: SqlOrderStore
    events: SqlEventLog
    gateway: FakeGateway
    clock: FakeClock
    database: Database


@pytest.fixture
async def world(any_store_url: str) -> AsyncIterator[World]:
    """Everything wired on SQLite and on PostgreSQL."""
    database = Database(any_store_url)
    await database.open()
    events = SqlEventLog(database)
    store = SqlOrderStore(database, events)
    gateway, clock = FakeGateway(), FakeClock()
    dispatcher = OrderDispatcher(
        store,
        lambda _account: gateway,
        lambda _account: ACCOUNT,
        OrderSettings(retry_for_seconds=3600),
        clock=clock,
    )
    orders = OrderService(
        store,
        FakeDecider(),
        FakeStatuses(),
        wake_dispatcher=dispatcher.wake,
        clock=clock,
    )
    yield World(orders, dispatcher, store, events, gateway, clock, database)
    await database.close()


def _order(order_id: str = "o-1", **changes: object) -> Order:
    return an_order(order_id, quantity=2, **({"order_number": "#1"} | changes))


class TestCreate:
    async def test_webshop_status_goes_through_the_mapping(self, world: World) -> None:
        """A webshop status is translated; "wc-processing" is forwarded."""
        result = await world.orders.create(
            "acme", _order(buckles_status=None, webshop_status="wc-processing")
        )

        assert result.outcome is Outcome.ACCEPTED
        assert result.record.buckles_status == "processing"

    async def test_unknown_webshop_status_names_channel_and_status(
        self, world: World
    ) -> None:
        """A status the mapping does not know is INVALID_ARGUMENT naming both."""
        with pytest.raises(InvalidArgument) as caught:
            await world.orders.create(
                "acme", _order(buckles_status=None, webshop_status="wc-weird")
            )

        assert [(v.field, v.description) for v in caught.value.violations] == [
            (
                "order.webshop_status",
                "the status mapping of channel 'woo' does not know status 'wc-weird'",
            )
        ]

    async def test_decision_and_timeline_are_stored(self, world: World) -> None:
        """The rule's method is stored with the order and its timeline says so."""
        await world.orders.create("acme", _order())

        record, timeline = await world.orders.get("acme", "o-1")
        assert record.decision is not None and record.decision.method == "DHL"
        assert [e.kind for e in timeline] == [
            TimelineKind.RECEIVED,
            TimelineKind.DECIDED,
            TimelineKind.QUEUED,
        ]

    async def test_lines_go_out_under_their_products_external_no(
        self, world: World
    ) -> None:
        """The shop renamed the SKU after the product was created in Boltrics:
        the line goes out (and holds stock) under the ExternalNo its listing
        keeps, not the new SKU; the same order again is still a repeat."""
        async with world.database.write() as conn:
            await conn.execute(
                product_listings.insert(),
                [
                    {
                        "account_id": "acme",
                        "product_id": "p-9",
                        "source_platform": "woo",
                        "shop": "",
                        "external_no": "OLD-SKU",
                    },
                    {
                        "account_id": "globex",
                        "product_id": "p-10",
                        "source_platform": "woo",
                        "shop": "",
                        "external_no": "OTHER-ACCOUNT",
                    },
                ],
            )
        line = OrderLine(product_id="p-9", sku="NEW-SKU", quantity=1)
        other = OrderLine(product_id="p-10", sku="SKU-2", quantity=1)
        order = _order(lines=(line, other))

        accepted = await world.orders.create("acme", order)
        again = await world.orders.create("acme", order)
        await world.dispatcher.drain_once()

        lines = accepted.record.order.lines
        assert [line.external_no for line in lines] == ["OLD-SKU", "SKU-2"]
        assert again.repeat is True
        xml = world.gateway.posted[0][2]
        assert b"OLD-SKU" in xml and b"NEW-SKU" not in xml

    async def test_accounts_are_kept_apart(self, world: World) -> None:
        """The same order id in another account is another order."""
        await world.orders.create("acme", _order())

        other = await world.orders.create("globex", _order())

        assert other.repeat is False


class TestStatusChangeWhileQueued:
    """An order queued for Boltrics that comes again in a status that is not
    forwarded (the merchant put it on hold)."""

    async def test_an_order_never_attempted_is_held_back(self, world: World) -> None:
        """Not sent yet (Boltrics was away, say): it is taken off the queue as
        skipped, and goes once it comes again as Processing."""
        await world.orders.create("acme", _order())

        held = await world.orders.create("acme", _order(buckles_status="on_hold"))
        await world.dispatcher.drain_once()
        posted_while_held = len(world.gateway.posted)
        again = await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()

        assert (held.outcome, held.repeat) == (Outcome.SKIPPED, True)
        assert held.record.state is OrderState.SKIPPED
        assert "on hold" in held.record.skip_reason
        assert posted_while_held == 0
        assert again.outcome is Outcome.ACCEPTED
        assert [reference for _, reference, _ in world.gateway.posted] == ["o-1~0"]
        events = await world.events.read_after(0, accounts=["acme"])
        assert [e.type for e in events] == [
            EventType.ORDER_ACCEPTED,
            EventType.ORDER_SKIPPED,
            EventType.ORDER_ACCEPTED,
            EventType.ORDER_SENT,
        ]

    async def test_an_order_whose_send_was_attempted_goes_on(
        self, world: World
    ) -> None:
        """Once a post was tried it may be in Boltrics: the order stays queued,
        the answer says accepted, and an operator hears of it."""
        world.gateway.transient()
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()

        with capture_logs() as logs:
            late = await world.orders.create("acme", _order(buckles_status="on_hold"))

        record, _ = await world.orders.get("acme", "o-1")
        assert (late.outcome, late.repeat) == (Outcome.ACCEPTED, True)
        assert record.state is OrderState.QUEUED
        assert [log["event"] for log in logs] == ["order.status_too_late"]


class TestDispatch:
    async def test_sent_once_however_often_it_comes(self, world: World) -> None:
        """Three creates and two drains post one message."""
        for _ in range(3):
            await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()
        await world.dispatcher.drain_once()

        record, _ = await world.orders.get("acme", "o-1")
        assert len(world.gateway.posted) == 1
        assert record.state is OrderState.SENT
        assert b"<Value>DHL</Value>" in world.gateway.posted[0][2]

    async def test_repeat_after_send_says_sent(self, world: World) -> None:
        """A repeat after sending returns the earlier result, marked as a repeat."""
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()

        again = await world.orders.create("acme", _order())

        assert (again.outcome, again.repeat) == (Outcome.SENT, True)

    async def test_changed_content_after_send_is_refused(self, world: World) -> None:
        """Other content under a sent order id is FAILED_PRECONDITION."""
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()

        with pytest.raises(FailedPrecondition, match="cannot change"):
            await world.orders.create(
                "acme", _order(lines=(OrderLine(sku="SKU-2", quantity=1),))
            )

    async def test_rejected_order_fails_with_boltrics_message(
        self, world: World
    ) -> None:
        """A 400 from Boltrics fails the order with the message, and no retry."""
        world.gateway.reject("Bad shipping agent")
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()

        record, _ = await world.orders.get("acme", "o-1")
        assert (record.state, record.last_error) == (
            OrderState.FAILED,
            "Bad shipping agent",
        )
        assert await world.store.queue_depth() == 0

    async def test_transient_failures_end_dead_then_operator_retry_sends(
        self, world: World
    ) -> None:
        """After the retry period an order is dead; an operator's retry sends it."""
        world.gateway.transient()
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()
        world.clock.advance(3601)
        await world.dispatcher.drain_once()
        dead, _ = await world.orders.get("acme", "o-1")

        world.gateway.heal()
        _, requeued = await world.orders.retry("acme", "o-1")
        await world.dispatcher.drain_once()
        sent, timeline = await world.orders.get("acme", "o-1")

        assert dead.state is OrderState.DEAD and "503" in dead.last_error
        assert requeued is True
        assert sent.state is OrderState.SENT and len(world.gateway.posted) == 1
        assert [e.kind for e in timeline][-3:] == [
            TimelineKind.DEAD,
            TimelineKind.RETRIED,
            TimelineKind.SENT,
        ]

    async def test_a_dead_orders_unanswered_post_is_not_made_twice(
        self, world: World
    ) -> None:
        """The last post before giving up reached Boltrics but its answer was
        lost: an operator's retry finds that message instead of posting a
        second one."""
        boltrics = _LosesAnswers()
        dispatcher = _dispatcher(world, boltrics)
        boltrics.transient()
        await world.orders.create("acme", _order())
        await dispatcher.drain_once()
        world.clock.advance(3601)
        boltrics.heal()
        boltrics.losing = boltrics.unreachable = True
        await dispatcher.drain_once()
        dead, _ = await world.orders.get("acme", "o-1")

        boltrics.losing = boltrics.unreachable = False
        await world.orders.retry("acme", "o-1")
        await dispatcher.drain_once()
        sent, _ = await world.orders.get("acme", "o-1")

        assert dead.state is OrderState.DEAD
        assert [reference for _, reference, _ in boltrics.posted] == ["o-1~0"]
        assert sent.state is OrderState.SENT and sent.message_id == "m-1"

    async def test_a_refused_look_up_keeps_the_order_queued(self, world: World) -> None:
        """A post whose answer was lost, then a look-up Boltrics refuses: the
        order stays queued (it may be in Boltrics) and the next round finds
        the first post rather than posting again."""
        boltrics = _LosesAnswers()
        dispatcher = _dispatcher(world, boltrics)
        boltrics.losing = True
        await world.orders.create("acme", _order())
        await dispatcher.drain_once()
        boltrics.losing, boltrics.refusing_lookups = False, True
        world.clock.advance(60)
        await dispatcher.drain_once()
        waiting, _ = await world.orders.get("acme", "o-1")

        boltrics.refusing_lookups = False
        world.clock.advance(600)
        await dispatcher.drain_once()
        sent, _ = await world.orders.get("acme", "o-1")

        assert waiting.state is OrderState.QUEUED
        assert sent.state is OrderState.SENT and sent.message_id == "m-1"
        assert [reference for _, reference, _ in boltrics.posted] == ["o-1~0"]

    async def test_an_order_boltrics_has_is_not_given_up(self, world: World) -> None:
        """When the retry period ends with a post whose answer was lost, the
        order is looked up before it is given up: Boltrics has it, so it is
        SENT, not DEAD."""
        boltrics = _LosesAnswers()
        dispatcher = _dispatcher(world, boltrics)
        boltrics.transient()
        await world.orders.create("acme", _order())
        await dispatcher.drain_once()
        world.clock.advance(3601)
        boltrics.heal()
        boltrics.losing = True
        await dispatcher.drain_once()

        record, _ = await world.orders.get("acme", "o-1")
        assert record.state is OrderState.SENT and record.message_id == "m-1"
        assert len(boltrics.posted) == 1

    async def test_interrupted_send_is_looked_up_not_reposted(
        self, world: World
    ) -> None:
        """A claim whose post may have happened is looked up by reference first."""
        await world.orders.create("acme", _order())
        record, _ = await world.orders.get("acme", "o-1")
        await world.gateway.submit(
            "receiveshipment", record.message_key, b"<posted-before-crash/>"
        )
        claims = await world.store.claim_due(
            world.clock(), limit=10, lease=timedelta(seconds=0)
        )
        world.clock.advance(1)

        await world.dispatcher.drain_once()

        sent, _ = await world.orders.get("acme", "o-1")
        assert claims and len(world.gateway.posted) == 1
        assert sent.state is OrderState.SENT and sent.message_id == "m-1"

    async def test_failed_on_unknown_item_is_sent_again_when_it_exists(
        self, world: World
    ) -> None:
        """requeue_waiting sends an order again once its missing product exists."""
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()
        async with world.store.transaction() as txn:
            record = await txn.lock("acme", "o-1")
            assert record is not None
            await txn.save(
                record.change(state=OrderState.FAILED, waiting_for=("SKU-1",))
            )

        count = await world.orders.requeue_waiting("acme", {"SKU-1"})
        await world.dispatcher.drain_once()

        record, _ = await world.orders.get("acme", "o-1")
        assert count == 1 and record.state is OrderState.SENT
        assert [ref for _, ref, _ in world.gateway.posted] == ["o-1~0", "o-1~1"]

    async def test_no_claim_waits_while_its_lease_runs_out(self, world: World) -> None:
        """The dispatcher claims no more sends than it runs at once: a claim
        never waits for a free slot while its lease runs out, to be claimed
        and posted a second time."""
        slow = _HeldGateway()
        dispatcher = _dispatcher(world, slow, concurrency=2)
        for order_id in ("o-1", "o-2", "o-3"):
            await world.orders.create("acme", _order(order_id))

        first = await dispatcher._claim()
        world.clock.advance(61)
        second = asyncio.create_task(dispatcher._claim())
        await asyncio.sleep(0.05)
        waited = not second.done()
        slow.release.set()
        await second
        await dispatcher.drain_once()

        references = [reference for _, reference, _ in slow.posted]
        assert first == 2 and waited
        assert sorted(references) == ["o-1~0", "o-2~0", "o-3~0"]

    async def test_a_store_error_does_not_stop_the_dispatcher(
        self, world: World
    ) -> None:
        """A failing store call (a database restart, say) is logged and tried
        again; the dispatcher goes on sending."""
        real_depth = world.store.queue_depth
        failures = [ConnectionError("server closed the connection")]

        async def flaky_depth() -> int:
            if failures:
                raise failures.pop()
            return await real_depth()

        world.store.queue_depth = flaky_depth  # type: ignore[method-assign]
        boltrics = _HeldGateway()
        boltrics.release.set()
        dispatcher = _dispatcher(world, boltrics)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        await asyncio.sleep(0.1)
        await world.orders.create("acme", _order())
        await asyncio.wait_for(boltrics.sent.wait(), 10)
        stop.set()
        await running

        assert not failures and len(boltrics.posted) == 1

    async def test_a_shipment_during_the_post_is_not_undone(self, world: World) -> None:
        """An order shipped while its post was under way stays SHIPPED."""
        slow = _HeldGateway()
        dispatcher = _dispatcher(world, slow)
        await world.orders.create("acme", _order())
        await dispatcher._claim()
        await asyncio.wait_for(slow.entered.wait(), 5)
        async with world.store.transaction() as txn:
            record = await txn.lock("acme", "o-1")
            assert record is not None
            await txn.save(record.change(state=OrderState.SHIPPED))
        slow.release.set()
        await dispatcher.drain_once()

        record, _ = await world.orders.get("acme", "o-1")
        assert len(slow.posted) == 1
        assert record.state is OrderState.SHIPPED
        assert await world.store.queue_depth() == 0


def _dispatcher(world: World, boltrics: FakeGateway, **options: Any) -> OrderDispatcher:
    """A dispatcher of the world's store that posts to `boltrics`."""
    return OrderDispatcher(
        world.store,
        lambda _account: boltrics,
        lambda _account: ACCOUNT,
        OrderSettings(retry_for_seconds=3600),
        clock=world.clock,
        **options,
    )


class _LosesAnswers(FakeGateway):
    """A Boltrics that, while `losing`, takes posts but its answers are lost,
    and, while `unreachable` too, answers no lookups."""

    losing = False
    unreachable = False
    refusing_lookups = False

    async def submit(self, *args: Any, **kwargs: Any) -> DiMessage:
        message = await super().submit(*args, **kwargs)
        if self.losing:
            msg = "connection reset before the answer"
            raise BoltricsTransientError(msg, outcome_unknown=True)
        return message

    async def find_by_reference(
        self, external_reference: str, **options: Any
    ) -> DiMessage | None:
        if self.unreachable:
            msg = "connection refused"
            raise BoltricsTransientError(msg)
        if self.refusing_lookups:
            msg = "Boltrics answered a page that is not JSON"
            raise BoltricsRejected(msg, code="MalformedPage")
        return await super().find_by_reference(external_reference, **options)


class _HeldGateway(FakeGateway):
    """A Boltrics whose posts wait until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.sent = asyncio.Event()

    async def submit(self, *args: Any, **kwargs: Any) -> DiMessage:
        self.entered.set()
        await self.release.wait()
        message = await super().submit(*args, **kwargs)
        self.sent.set()
        return message


class TestVerdictAfterTheProduct:
    async def test_the_hook_waits_for_a_verdict_failing_an_order_meanwhile(
        self, world: World
    ) -> None:
        """A verdict failing an order for a missing product, not committed yet
        when the product's hook runs: the hook waits for it (on PostgreSQL,
        where both may run at once) and sends the order again."""
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()
        locked = asyncio.Event()

        async def verdict() -> None:
            async with world.store.transaction() as txn:
                await txn.lock_waiting("acme")
                locked.set()
                await asyncio.sleep(0.3)
                record = await txn.lock("acme", "o-1")
                assert record is not None
                await txn.save(
                    record.change(state=OrderState.FAILED, waiting_for=("SKU-1",))
                )

        deciding = asyncio.create_task(verdict())
        await locked.wait()
        count = await world.orders.requeue_waiting("acme", {"SKU-1"})
        await deciding

        record, _ = await world.orders.get("acme", "o-1")
        assert count == 1 and record.state is OrderState.QUEUED

    async def test_failed_on_an_item_boltrics_has_by_then_is_sent_again(
        self, world: World
    ) -> None:
        """Boltrics failed the order for an unknown item, then created the
        product, and the product's hook ran before the verdict was read: the
        order is queued again at once, as nothing would wake it later."""
        failing = _FailsMessage("Item SKU-1 is unknown")
        dispatcher = _dispatcher(world, failing)
        follower = VerdictFollower(
            world.store, lambda _account: failing, poll_seconds=2, clock=world.clock
        )
        await world.orders.create("acme", _order())
        await dispatcher.drain_once()
        await _product_in_boltrics(world.database, "SKU-1")
        hooked = await world.orders.requeue_waiting("acme", {"SKU-1"})

        await follower.follow_once()
        failing.failed_ids.clear()
        await dispatcher.drain_once()

        record, timeline = await world.orders.get("acme", "o-1")
        assert hooked == 0 and record.state is OrderState.SENT
        assert [ref for _, ref, _ in failing.posted] == ["o-1~0", "o-1~1"]
        assert [e.kind for e in timeline][-3:] == [
            TimelineKind.FAILED,
            TimelineKind.RETRIED,
            TimelineKind.SENT,
        ]


class _FailsMessage(FakeGateway):
    """A Boltrics that fails the messages posted so far with `error`."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self._error = error
        self.failed_ids: list[str] = []

    async def submit(self, *args: Any, **kwargs: Any) -> DiMessage:
        message = await super().submit(*args, **kwargs)
        self.failed_ids.append(message.id)
        return message

    def list_messages(self, **filters: Any) -> AsyncIterator[DiMessage]:
        return self._listed(filters.get("status"))

    async def _listed(self, status: object) -> AsyncIterator[DiMessage]:
        if status != "Failed":
            return
        for message_id in self.failed_ids:
            yield DiMessage(
                id=message_id,
                message_type="receiveshipment",
                direction="Inbound",
                status="Failed",
                external_reference="",
                content=b"",
                error_text=self._error,
                created_at=datetime.now(UTC),
                etag="W/1",
            )


async def _product_in_boltrics(database: Database, external_no: str) -> None:
    now = datetime.now(UTC)
    async with database.write() as conn:
        await conn.execute(
            products.insert(),
            {
                "account_id": "acme",
                "external_no": external_no,
                "state": "created",
                "in_boltrics": True,
                "last_error": "",
                "info": "{}",
                "created_at": now,
                "updated_at": now,
            },
        )


class TestOrdersInState:
    async def test_every_order_of_the_account_in_the_state_page_by_page(
        self, world: World
    ) -> None:
        """Five failed orders of acme read two at a time: all five, in id order;
        none of globex's, none in another state."""
        async with world.store.transaction() as txn:
            for account, order_id, state in [
                *(("acme", f"f-{n}", OrderState.FAILED) for n in (3, 1, 4, 0, 2)),
                ("acme", "s-1", OrderState.SENT),
                ("globex", "f-9", OrderState.FAILED),
            ]:
                await txn.save(_record(account, order_id, state))

        found = [
            record.order.order_id
            async for record in world.store.each_in_state(
                "acme", OrderState.FAILED, page=2
            )
        ]

        assert found == ["f-0", "f-1", "f-2", "f-3", "f-4"]


def _record(account_id: str, order_id: str, state: OrderState) -> OrderRecord:
    """A stored order of `account_id` in `state`."""
    now = datetime.now(UTC)
    return OrderRecord(
        account_id=account_id,
        order=_order(order_id),
        state=state,
        buckles_status="processing",
        fingerprint="f",
        created_at=now,
        updated_at=now,
    )


class TestEvents:
    async def test_events_follow_the_order_in_order(self, world: World) -> None:
        """Accepted, then sent; read after a cursor, nothing repeats."""
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()

        first = await world.events.read_after(0, accounts=["acme"])
        after_first = await world.events.read_after(first[0].cursor, accounts=["acme"])
        foreign = await world.events.read_after(0, accounts=["globex"])

        assert [e.type for e in first] == [
            EventType.ORDER_ACCEPTED,
            EventType.ORDER_SENT,
        ]
        assert [e.cursor for e in after_first] == [first[1].cursor]
        assert foreign == []

    async def test_an_order_queued_again_is_accepted_again(self, world: World) -> None:
        """A dead order an operator retries is announced as accepted (queued)
        again, so that it holds stock again while it waits to be sent."""
        world.gateway.transient()
        await world.orders.create("acme", _order())
        await world.dispatcher.drain_once()
        world.clock.advance(3601)
        await world.dispatcher.drain_once()
        world.gateway.heal()

        await world.orders.retry("acme", "o-1")

        events = await world.events.read_after(0, accounts=["acme"])
        assert [(e.type, e.payload["state"]) for e in events] == [
            (EventType.ORDER_ACCEPTED, "queued"),
            (EventType.ORDER_FAILED, "dead"),
            (EventType.ORDER_ACCEPTED, "queued"),
        ]
