"""A StockService on a real store, reading a sandbox over loopback HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.adapters.boltrics import HttpxBoltricsGateway, RateLimiter
from service.adapters.boltrics import documents as doc
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.product_tables import product_listings, products
from service.config import Account
from service.domain.events import Event, EventType, NewEvent
from service.domain.orders import Order, OrderLine, OrderRecord, OrderState
from service.domain.shipments import ShipmentResult
from service.sandbox import RunningSandbox, run_sandbox
from service.services.stock import StockService
from tests.integration.boltrics.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    FAST_RETRIES,
    Control,
    connection_to,
)

ACCOUNT = "acme"


@dataclass
class Harness:
    """The service under test, its store and the sandbox company behind it."""

    sandbox: RunningSandbox
    database: Database
    events: SqlEventLog
    control: Control
    gateway: HttpxBoltricsGateway
    company_id: str

    def service(self, **options: Any) -> StockService:
        """A StockService for account acme."""
        account = Account(id=ACCOUNT, boltrics=connection_to(self.sandbox, "x"))
        return StockService(
            self.database,
            self.events,
            lambda name: self.gateway if name == ACCOUNT else None,
            lambda name: account if name == ACCOUNT else None,
            lambda: [ACCOUNT],
            **options,
        )

    async def add_products(self, *external_nos: str) -> None:
        """Make products known to the connector, each listed in one shop."""
        now = datetime.now(UTC)
        async with self.database.write() as conn:
            await conn.execute(
                products.insert(),
                [_product_row(no, now) for no in external_nos],
            )
            await conn.execute(
                product_listings.insert(),
                [
                    {
                        "account_id": ACCOUNT,
                        "product_id": f"p-{no}",
                        "source_platform": "shopify",
                        "shop": "shop-a",
                        "external_no": no,
                    }
                    for no in external_nos
                ],
            )

    async def set_stock(self, **on_hand: int) -> None:
        """Set stock in the warehouse without a message (drift)."""
        items = [{"externalNo": no, "qtyInInventory": q} for no, q in on_hand.items()]
        await self.control.call("PUT", "/stock", {"items": items})

    async def change_stock(self, **on_hand: int) -> None:
        """Change stock in the warehouse, which sends a stockstatus."""
        items = [{"externalNo": no, "qtyInInventory": q} for no, q in on_hand.items()]
        await self.control.call("POST", "/stock/changes", {"items": items})

    def send_status(self, created: datetime, xml_items: list[tuple[str, str]]) -> None:
        """Put a hand-made stockstatus in the sandbox's outbox."""
        status = doc.StockStatus(
            header=doc.Header.new("WH01", "BUCKLES", now=created),
            items=tuple(
                doc.StockStatusItem(no, Decimal(0), Decimal(0)) for no, _ in xml_items
            ),
        )
        xml = doc.build_stock_status(status).decode()
        for no, quantity in xml_items:
            # Each item was built with zeros; put the wanted text in its place.
            marker = f"<ExternalNo>{no}</ExternalNo>"
            head, tail = xml.split(marker, 1)
            tail = tail.replace(
                "<QtyInInventory>0</QtyInInventory>",
                f"<QtyInInventory>{quantity}</QtyInInventory>",
                1,
            )
            tail = tail.replace(
                "<QtyAvailable>0</QtyAvailable>",
                f"<QtyAvailable>{quantity}</QtyAvailable>",
                1,
            )
            xml = head + marker + tail
        sandbox = self.sandbox.sandbox
        sandbox.add_message(
            sandbox.companies.get(self.company_id),
            doc.MessageType.STOCK_STATUS,
            doc.Direction.OUTBOUND,
            f"HAND-{uuid.uuid4().hex[:8]}",
            doc.encode_content(xml.encode()),
        )

    async def accept_order(
        self, order_id: str, state: OrderState, **lines: int
    ) -> None:
        """Record an order event as the order service does."""
        now = datetime.now(UTC)
        record = OrderRecord(
            account_id=ACCOUNT,
            order=Order(
                order_id=order_id,
                lines=tuple(OrderLine(sku=no, quantity=q) for no, q in lines.items()),
            ),
            state=state,
            buckles_status="processing",
            fingerprint="f",
            created_at=now,
            updated_at=now,
        )
        event = {
            OrderState.QUEUED: EventType.ORDER_ACCEPTED,
            OrderState.PROCESSED: EventType.ORDER_PROCESSED,
            OrderState.FAILED: EventType.ORDER_FAILED,
            OrderState.DEAD: EventType.ORDER_FAILED,
        }[state]
        async with self.database.write() as conn:
            await self.events.append(
                conn,
                [
                    NewEvent(
                        account_id=ACCOUNT,
                        type=event,
                        payload=record.model_dump(mode="json"),
                    )
                ],
            )
        self.events.signal.notify()

    async def ship_order(self, order_id: str) -> None:
        """Record an ORDER_SHIPPED event as the shipment service does: its
        payload is the shipment's result."""
        result = ShipmentResult(
            account_id=ACCOUNT, order_id=order_id, shipment_no="S-1", order_known=True
        )
        await self.append_event(EventType.ORDER_SHIPPED, result.model_dump(mode="json"))

    async def append_event(self, type_: EventType, payload: dict[str, Any]) -> None:
        """Record an event of any kind and payload."""
        async with self.database.write() as conn:
            await self.events.append(
                conn, [NewEvent(account_id=ACCOUNT, type=type_, payload=payload)]
            )
        self.events.signal.notify()

    async def product_changed(self, external_no: str) -> None:
        """Record a PRODUCT_CHANGED event as the product service does."""
        async with self.database.write() as conn:
            await self.events.append(
                conn,
                [
                    NewEvent(
                        account_id=ACCOUNT,
                        type=EventType.PRODUCT_CHANGED,
                        payload={"external_no": external_no},
                    )
                ],
            )

    async def stock_events(self) -> list[Event]:
        """The STOCK_CHANGED events recorded so far."""
        return await self.events.read_after(
            0, accounts=[ACCOUNT], types=[EventType.STOCK_CHANGED], limit=100_000
        )


def _product_row(external_no: str, now: datetime) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "external_no": external_no,
        "state": "accepted",
        "in_boltrics": True,
        "last_error": "",
        "info": "{}",
        "created_at": now,
        "updated_at": now,
    }


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
    company_id = str(uuid.uuid4())
    gateway = HttpxBoltricsGateway(
        connection_to(sandbox, company_id),
        account=ACCOUNT,
        secret=SecretStr(CLIENT_SECRET),
        limiter=RateLimiter(0),
        retry=FAST_RETRIES,
    )
    async with httpx.AsyncClient(timeout=30) as http:
        control = Control(http, f"{sandbox.control_url}/companies/{company_id}")
        yield Harness(
            sandbox, database, SqlEventLog(database), control, gateway, company_id
        )
    await gateway.aclose()
    await database.close()
