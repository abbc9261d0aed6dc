"""A ShipmentService on a real store, collecting from a sandbox over loopback HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.adapters.boltrics import (
    BoltricsGateway,
    Direction,
    HttpxBoltricsGateway,
    MessageType,
    RateLimiter,
)
from service.adapters.boltrics.documents import encode_content
from service.adapters.parsing import ParsingPool
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.orders import SqlOrderStore
from service.config import Account
from service.domain.events import Event, EventType
from service.domain.orders import Decision, Order, OrderLine, OrderRecord, OrderState
from service.sandbox import RunningSandbox, run_sandbox
from service.sandbox.state import StoredOrder
from service.services.shipments import ShipmentService
from tests.integration.boltrics.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    FAST_RETRIES,
    Control,
    connection_to,
)

ACCOUNT = "acme"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Harness:
    """The store, the sandbox company, the account's gateway and its control."""

    sandbox: RunningSandbox
    database: Database
    events: SqlEventLog
    orders: SqlOrderStore
    control: Control
    company_id: str
    account: Account
    gateway: HttpxBoltricsGateway
    made: list[ShipmentService] = field(default_factory=list)

    def service(
        self, gateway: BoltricsGateway | None = None, parsers: ParsingPool | None = None
    ) -> ShipmentService:
        """A ShipmentService over the harness's store, collecting for `acme`
        (parsing inline unless given `parsers`)."""
        chosen = gateway or self.gateway
        return ShipmentService(
            self.database,
            self.events,
            self.orders,
            lambda account_id: chosen if account_id == ACCOUNT else None,
            lambda account_id: self.account if account_id == ACCOUNT else None,
            accounts=lambda: [ACCOUNT],
            poll_seconds=0.05,
            parsers=parsers,
        )

    async def add_order(self, order_id: str, method: str = "POSTNL") -> None:
        """An order the connector sent, and its shipment order in the warehouse."""
        record = OrderRecord(
            account_id=ACCOUNT,
            order=Order(
                order_id=order_id,
                source_platform="shopify",
                shop="shop-a",
                lines=(OrderLine(sku="SKU-1", quantity=2),),
            ),
            state=OrderState.PROCESSED,
            buckles_status="processing",
            fingerprint="f",
            decision=Decision(method=method, source="checkout"),
            created_at=NOW,
            updated_at=NOW,
        )
        async with self.orders.transaction() as txn:
            await txn.save(record)
        self.warehouse_order(order_id, method)

    def warehouse_order(self, order_id: str, method: str = "POSTNL") -> None:
        """A shipment order in the sandbox, as a processed receiveshipment makes."""
        company = self.sandbox.sandbox.companies.get(self.company_id)
        stored = StoredOrder(
            external_reference=order_id,
            external_document_no=f"#{order_id}",
            message_id=str(uuid.uuid4()),
            shipping_agent=method,
            lines=[("SKU-1", "2")],
        )
        company.orders.append(stored)
        company.orders_by_reference.setdefault(order_id, []).append(stored)

    async def ship(self, order_id: str, **options: Any) -> dict[str, Any]:
        """Ship an order through the sandbox's control API; the sendshipment."""
        body = {"externalReference": order_id, **options}
        answer: dict[str, Any] = await self.control.call("POST", "/shipments", body)
        return answer

    def outbound(self, xml: bytes, reference: str = "") -> None:
        """Boltrics puts any document in the outbound queue as a sendshipment."""
        company = self.sandbox.sandbox.companies.get(self.company_id)
        self.sandbox.sandbox.add_message(
            company,
            MessageType.SEND_SHIPMENT,
            Direction.OUTBOUND,
            reference,
            encode_content(xml),
        )

    async def new_messages(self) -> list[dict[str, Any]]:
        """The sendshipment messages still New in the sandbox."""
        query = "/messages?direction=Outbound&messageType=sendshipment&status=New"
        return list((await self.control.call("GET", query))["value"])

    async def events_of(self, kind: EventType) -> list[Event]:
        """Every recorded event of one type."""
        return await self.events.read_after(
            0, accounts=[ACCOUNT], types=[kind], limit=100_000
        )


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox without rate limit."""
    async with run_sandbox(
        "127.0.0.1",
        0,
        clients={CLIENT_ID: CLIENT_SECRET},
        rate_limit=0,
        process_delay=0.01,
        seed=13,
    ) as running:
        yield running


@pytest.fixture
async def harness(
    any_store_url: str, sandbox: RunningSandbox
) -> AsyncIterator[Harness]:
    """A migrated store (SQLite and PostgreSQL) and a fresh sandbox company."""
    database = Database(any_store_url)
    await database.open()
    events = SqlEventLog(database)
    company_id = str(uuid.uuid4())
    connection = connection_to(sandbox, company_id)
    gateway = HttpxBoltricsGateway(
        connection,
        account=ACCOUNT,
        secret=SecretStr(CLIENT_SECRET),
        limiter=RateLimiter(0),
        retry=FAST_RETRIES,
    )
    async with httpx.AsyncClient(timeout=30) as http:
        yield Harness(
            sandbox=sandbox,
            database=database,
            events=events,
            orders=SqlOrderStore(database, events),
            control=Control(http, f"{sandbox.control_url}/companies/{company_id}"),
            company_id=company_id,
            account=Account(id=ACCOUNT, boltrics=connection),
            gateway=gateway,
        )
    await gateway.aclose()
    await database.close()
