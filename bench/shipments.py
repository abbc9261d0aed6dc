"""Shipments: confirmations a second from the sandbox to an event subscriber.

In each of five rounds, ships `--count` new orders in a sandbox (its own
process, rate limit off), then times two things:

1. the collector's bare loop: list the New `sendshipment` messages and parse
   each, storing nothing (the median of three passes);
2. the whole way: a `ShipmentService` collecting them (store, order update,
   event) until a `follow_events` subscriber on the same SQLite store has seen
   every ORDER_SHIPPED event.

The collector parses in a worker process, as the service does; the worker
starts with the first round's first page, so round 1 includes its start.

Prints both rates per round, and how long the collector's round took until it
had acknowledged every message (which it does once the round's listing is
done), then the median over the rounds of the ratio of the second rate to the
first (target at least 0.5).

    python -m bench.shipments [--count 2000] [--parse-workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from pydantic import SecretStr

from service.adapters.boltrics import (
    Address,
    Direction,
    Header,
    HttpxBoltricsGateway,
    MessageStatus,
    MessageType,
    RateLimiter,
    ShipmentOrder,
    ShipmentOrderLine,
    build_shipment_order,
)
from service.adapters.parsing import ParsingPool
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.orders import SqlOrderStore
from service.config import Account, BoltricsConnection, SecretRef
from service.domain.events import EventType
from service.domain.orders import Decision, Order, OrderRecord, OrderState
from service.logging import configure_logging
from service.services.events import follow_events
from service.services.shipment_documents import (
    PARSERS_MODULE,
    TrackCodes,
    decode_message,
)
from service.services.shipments import ShipmentService
from tests.support.sandbox import CLIENT_ID, CLIENT_SECRET, COMPANY, SandboxProcess

ACCOUNT = "acme"
ROUNDS = 5
NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def _prepare(
    sandbox: SandboxProcess, gateway: HttpxBoltricsGateway, ids: list[str]
) -> None:
    """A shipment order in the warehouse for each order id, each shipped once."""
    sandbox.add_items("SKU-1")
    slots = asyncio.Semaphore(32)

    async def post(order_id: str) -> None:
        order = ShipmentOrder(
            header=Header.new("BUCKLES", "WH01"),
            document_date=date(2026, 12, 1),
            external_document_no=f"#{order_id}",
            external_reference=order_id,
            ship_to=Address(postcode="1234AB", country_code="NL"),
            lines=(ShipmentOrderLine("SKU-1", Decimal(1), "Mug"),),
            shipping_agent="POSTNL",
        )
        async with slots:
            await gateway.submit(
                MessageType.RECEIVE_SHIPMENT,
                f"{order_id}~0",
                build_shipment_order(order),
            )

    await asyncio.gather(*(post(order_id) for order_id in ids))
    sandbox.control("POST", "/process")
    async with httpx.AsyncClient(base_url=sandbox.url + "/_sandbox") as http:

        async def ship(index: int, order_id: str) -> None:
            agent = "DHL" if index % 2 else "POSTNL"
            body = {"externalReference": order_id, "shippingAgentCode": agent}
            async with slots:
                answer = await http.post(f"/companies/{COMPANY}/shipments", json=body)
                answer.raise_for_status()

        await asyncio.gather(*(ship(i, order_id) for i, order_id in enumerate(ids)))


async def _orders(store: SqlOrderStore, ids: list[str]) -> None:
    async with store.transaction() as txn:
        for order_id in ids:
            await txn.save(
                OrderRecord(
                    account_id=ACCOUNT,
                    order=Order(order_id=order_id, source_platform="shopify"),
                    state=OrderState.PROCESSED,
                    buckles_status="processing",
                    fingerprint="f",
                    decision=Decision(method="POSTNL", source="checkout"),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


async def _bare_loop(gateway: HttpxBoltricsGateway) -> tuple[int, float]:
    """List the New sendshipment messages and parse each; (count, seconds)."""
    started = time.perf_counter()
    count = 0
    async for message in gateway.list_messages(
        direction=Direction.OUTBOUND,
        status=MessageStatus.NEW,
        message_type=MessageType.SEND_SHIPMENT,
    ):
        decode_message(message.content, TrackCodes())
        count += 1
    return count, time.perf_counter() - started


async def _whole_way(
    service: ShipmentService, events: SqlEventLog, n: int
) -> tuple[float, float]:
    """Seconds from starting the collector until a subscriber saw n shipments,
    and until the collector's round (acknowledgements included) ended."""
    stop = asyncio.Event()
    after = await events.last_cursor()
    started = time.perf_counter()
    collector = asyncio.create_task(service.run(stop))
    seen = 0
    async for _event in follow_events(
        events, after=after, accounts=[ACCOUNT], types=[EventType.ORDER_SHIPPED]
    ):
        seen += 1
        if seen == n:
            break
    elapsed = time.perf_counter() - started
    stop.set()
    await collector
    return elapsed, time.perf_counter() - started


async def main(n: int, parse_workers: int = 1) -> None:
    """Run the bench and print its figures."""
    configure_logging("warning")
    sandbox = SandboxProcess(rate_limit=0)
    connection = BoltricsConnection(
        base_url=sandbox.base_url,
        company_id=COMPANY,
        token_url=sandbox.token_url,
        client_id=CLIENT_ID,
        client_secret=SecretRef(env="UNUSED"),
    )
    gateway = HttpxBoltricsGateway(
        connection,
        account=ACCOUNT,
        secret=SecretStr(CLIENT_SECRET),
        limiter=RateLimiter(0),
    )
    account = Account(id=ACCOUNT, boltrics=connection)
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        await database.open()
        events = SqlEventLog(database)
        orders = SqlOrderStore(database, events)
        parsers = ParsingPool(parse_workers, preload=[PARSERS_MODULE])
        service = ShipmentService(
            database,
            events,
            orders,
            lambda _account: gateway,
            lambda _account: account,
            accounts=lambda: [ACCOUNT],
            poll_seconds=0.05,
            parsers=parsers,
        )
        rounds: list[tuple[float, float, float]] = []
        try:
            for number in range(ROUNDS):
                ids = [f"o-{number}-{index}" for index in range(n)]
                await _orders(orders, ids)
                await _prepare(sandbox, gateway, ids)
                # Listing changes nothing: the bare loop's time is the median
                # of three passes, so that one noisy pass does not set it.
                passes = [await _bare_loop(gateway) for _ in range(3)]
                assert all(listed == n for listed, _ in passes)
                bare_seconds = statistics.median(seconds for _, seconds in passes)
                whole_seconds, round_seconds = await _whole_way(service, events, n)
                rounds.append((bare_seconds, whole_seconds, round_seconds))
        finally:
            parsers.close()
            await gateway.aclose()
            await database.close()
            sandbox.stop()

    for number, (bare_seconds, whole_seconds, round_seconds) in enumerate(rounds):
        print(
            f"round {number + 1}: bare list-and-parse {n / bare_seconds:.0f}/s, "
            f"sandbox to subscriber {n / whole_seconds:.0f}/s, ratio "
            f"{bare_seconds / whole_seconds:.2f}; every message acknowledged after "
            f"{round_seconds:.2f}s"
        )
    ratio = statistics.median(bare / whole for bare, whole, _ in rounds)
    print(f"ratio, median of {ROUNDS} rounds: {ratio:.2f} (target at least 0.5)")
    print(
        "(acknowledgements: one PATCH per message, once the round's listing is "
        "done; not part of the ratio)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--parse-workers",
        type=int,
        default=1,
        help="the service's parsing.workers (0: parse in the collector's process)",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.parse_workers))
