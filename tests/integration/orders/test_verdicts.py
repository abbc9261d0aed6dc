"""Boltrics' verdicts on sent orders, followed against the sandbox, with the
requests each round costs counted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from service.adapters.boltrics import (
    HttpxBoltricsGateway,
    MessageStatus,
    MessageType,
    RateLimiter,
)
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.orders import SqlOrderStore
from service.config import Account, BoltricsConnection, OrderSettings, SecretRef
from service.domain.orders import OrderState, TimelineKind
from service.sandbox import RunningSandbox, run_sandbox
from service.services.dispatcher import OrderDispatcher
from service.services.orders import OrderService
from service.services.verdicts import MISSING_GRACE, SKIPPED, VerdictFollower
from tests.integration.boltrics.orders import order_xml
from tests.support.fakes import FakeDecider, FakeStatuses
from tests.support.orders import an_order

CLIENT_ID = "verdicts-test"
CLIENT_SECRET = "verdicts-secret"
ACCOUNT = "acme"


@dataclass
class Requests:
    """The API requests a gateway made, as (method, status filter or path)."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    async def record(self, request: httpx.Request) -> None:
        if "/diMessages" in request.url.path:
            self.seen.append((request.method, request.url.params.get("$filter", "")))

    def lists_of(self, status: str) -> int:
        return sum(
            1
            for method, conditions in self.seen
            if method == "GET" and f"status eq '{status}'" in conditions
        )

    def reads_by_id(self) -> int:
        return sum(1 for method, conditions in self.seen if not conditions)


@dataclass
class World:
    orders: OrderService
    dispatcher: OrderDispatcher
    follower: VerdictFollower
    gateway: HttpxBoltricsGateway
    requests: Requests
    items_url: str
    sandbox: RunningSandbox
    company_id: str
    clock: list[datetime]

    def skip_message(self, message_id: str) -> None:
        """A warehouse user skips a message that Boltrics has not processed."""
        company = self.sandbox.sandbox.companies.get(self.company_id)
        company.messages[message_id].set_status(MessageStatus.SKIPPED)

    def forget_message(self, message_id: str) -> None:
        """Boltrics loses a message (or purges it): it answers 404 for it."""
        company = self.sandbox.sandbox.companies.get(self.company_id)
        del company.messages[message_id]

    async def add_item(self, external_no: str) -> None:
        """Make an item known to the warehouse."""
        async with httpx.AsyncClient() as control:
            body = {"items": [{"externalNo": external_no}]}
            response = await control.post(self.items_url, json=body)
            response.raise_for_status()


@pytest.fixture
def process_delay() -> float:
    """How long the sandbox takes to process a message."""
    return 0.01


@pytest.fixture
async def world(any_store_url: str, process_delay: float) -> AsyncIterator[World]:
    """Orders sent to a sandbox that processes them after `process_delay`."""
    async with run_sandbox(
        "127.0.0.1",
        0,
        clients={CLIENT_ID: CLIENT_SECRET},
        rate_limit=0,
        process_delay=process_delay,
        seed=3,
    ) as sandbox:
        connection = BoltricsConnection(
            base_url=sandbox.base_url,
            company_id=str(uuid.uuid4()),
            token_url=sandbox.token_url,
            client_id=CLIENT_ID,
            client_secret=SecretRef(env="VERDICTS_TEST_UNUSED"),
        )
        requests = Requests()
        http = httpx.AsyncClient(event_hooks={"request": [requests.record]})
        gateway = HttpxBoltricsGateway(
            connection,
            account=ACCOUNT,
            secret=SecretStr(CLIENT_SECRET),
            http=http,
            limiter=RateLimiter(0),
        )
        database = Database(any_store_url)
        await database.open()
        store = SqlOrderStore(database, SqlEventLog(database))
        account = Account(id=ACCOUNT, boltrics=connection)
        dispatcher = OrderDispatcher(
            store, lambda _a: gateway, lambda _a: account, OrderSettings()
        )
        orders = OrderService(
            store, FakeDecider(), FakeStatuses(), wake_dispatcher=dispatcher.wake
        )
        clock = [datetime.now(UTC)]
        follower = VerdictFollower(
            store, lambda _a: gateway, poll_seconds=1, clock=lambda: clock[0]
        )
        items_url = f"{sandbox.control_url}/companies/{connection.company_id}/items"
        yield World(
            orders,
            dispatcher,
            follower,
            gateway,
            requests,
            items_url,
            sandbox,
            connection.company_id,
            clock,
        )
        await database.close()
        await http.aclose()


async def _send(world: World, *order_ids: str) -> None:
    """Send orders of an item Boltrics does not know: each of them fails."""
    for order_id in order_ids:
        await world.orders.create(ACCOUNT, an_order(order_id, sku="NO-SUCH-ITEM"))
    await world.dispatcher.drain_once()
    await asyncio.sleep(0.3)  # the sandbox processes after 10 ms


async def _failed_history(world: World, count: int) -> None:
    """Messages of long ago that failed: the Failed list's history."""
    for number in range(count):
        reference = f"old-{number}"
        await world.gateway.submit(
            MessageType.RECEIVE_SHIPMENT, reference, order_xml(reference, "NO-SUCH")
        )
    await asyncio.sleep(0.3)


class TestVerdictRequests:
    @pytest.mark.parametrize("process_delay", [30.0])
    async def test_a_round_without_decided_orders_does_not_list_failures(
        self, world: World
    ) -> None:
        """While every sent order is still New, the Failed list is not read."""
        await world.orders.create(ACCOUNT, an_order("o-1", sku="NO-SUCH-ITEM"))
        await world.dispatcher.drain_once()
        world.requests.seen.clear()

        assert await world.follower.follow_once() == 0

        assert world.requests.lists_of("New") == 1
        assert world.requests.lists_of("Failed") == 0
        record, _ = await world.orders.get(ACCOUNT, "o-1")
        assert record.state is OrderState.SENT

    async def test_few_decided_orders_are_read_by_id_when_the_list_is_long(
        self, world: World
    ) -> None:
        """Once the Failed list is known to span three pages, two decided orders
        are read by id (two requests) instead of listing it, and still fail
        with Boltrics' text."""
        await _failed_history(world, 250)
        await _send(world, "o-1")
        world.requests.seen.clear()
        assert await world.follower.follow_once() == 1
        assert world.requests.lists_of("Failed") == 3

        await _send(world, "o-2", "o-3")
        world.requests.seen.clear()
        assert await world.follower.follow_once() == 2

        assert world.requests.lists_of("Failed") == 0
        assert world.requests.reads_by_id() == 2
        for order_id in ("o-1", "o-2", "o-3"):
            record, _ = await world.orders.get(ACCOUNT, order_id)
            assert record.state is OrderState.FAILED
            assert "NO-SUCH-ITEM" in record.last_error

    async def test_many_decided_orders_list_the_failures(self, world: World) -> None:
        """When as many orders were decided as the list has pages, it is listed;
        a processed order among them is marked processed."""
        await world.add_item("SKU-1")
        await _send(world, "o-1")
        await world.follower.follow_once()

        await _send(world, "o-2")
        await world.orders.create(ACCOUNT, an_order("o-3", sku="SKU-1"))
        await world.dispatcher.drain_once()
        await asyncio.sleep(0.3)
        world.requests.seen.clear()
        assert await world.follower.follow_once() == 2

        assert world.requests.lists_of("Failed") == 1
        assert world.requests.reads_by_id() == 0
        failed, _ = await world.orders.get(ACCOUNT, "o-2")
        assert failed.state is OrderState.FAILED
        processed, _ = await world.orders.get(ACCOUNT, "o-3")
        assert processed.state is OrderState.PROCESSED


class TestSkippedMessages:
    @pytest.mark.parametrize("process_delay", [30.0])
    async def test_an_order_whose_message_was_skipped_fails(self, world: World) -> None:
        """A skipped message made no shipment order: the order fails, saying
        so, for an operator to retry; it is not taken as processed."""
        await world.orders.create(ACCOUNT, an_order("o-1"))
        await world.dispatcher.drain_once()
        sent, _ = await world.orders.get(ACCOUNT, "o-1")
        world.skip_message(sent.message_id)
        world.requests.seen.clear()

        assert await world.follower.follow_once() == 1

        failed, timeline = await world.orders.get(ACCOUNT, "o-1")
        assert failed.state is OrderState.FAILED
        assert failed.last_error == SKIPPED
        assert timeline[-1].kind is TimelineKind.FAILED
        assert world.requests.lists_of("Skipped") == 1


class TestMissingMessages:
    async def test_an_order_whose_message_boltrics_lost_is_given_up_as_dead(
        self, world: World
    ) -> None:
        """A sent order's message that Boltrics answers 404 for stays SENT for
        a grace period, then the order is DEAD with the reason, for an
        operator to retry."""
        await _failed_history(world, 250)
        await _send(world, "o-1")
        await world.follower.follow_once()  # learns the Failed list's length
        await world.add_item("SKU-1")
        await world.orders.create(ACCOUNT, an_order("o-2", sku="SKU-1"))
        await world.dispatcher.drain_once()
        sent, _ = await world.orders.get(ACCOUNT, "o-2")
        world.forget_message(sent.message_id)
        await asyncio.sleep(0.3)

        assert await world.follower.follow_once() == 0
        waiting, _ = await world.orders.get(ACCOUNT, "o-2")
        world.clock[0] += MISSING_GRACE
        assert await world.follower.follow_once() == 1
        dead, timeline = await world.orders.get(ACCOUNT, "o-2")

        assert waiting.state is OrderState.SENT
        assert dead.state is OrderState.DEAD
        assert sent.message_id in dead.last_error
        assert "404" in dead.last_error
        assert timeline[-1].kind.value == "dead"
