"""A ProductService on a real store, sending to a sandbox over loopback HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.adapters.boltrics import BoltricsGateway, HttpxBoltricsGateway, RateLimiter
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.config import Account
from service.domain.events import EventType
from service.domain.products import ChannelProduct
from service.sandbox import RunningSandbox, run_sandbox
from service.services.products import ProductService
from tests.integration.boltrics.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    FAST_RETRIES,
    Control,
    connection_to,
)

ACCOUNT = "acme"
EAN_A = "4006381333931"
DRAIN_SECONDS = 60


@dataclass
class Harness:
    """The service under test, the sandbox's control and what the hook saw."""

    sandbox: RunningSandbox
    database: Database
    events: SqlEventLog
    control: Control
    accounts: dict[str, Account]
    gateways: dict[str, HttpxBoltricsGateway]
    company_id: str = ""
    created: list[tuple[str, set[str]]] = field(default_factory=list)
    retired: list[HttpxBoltricsGateway] = field(default_factory=list)
    services: list[ProductService] = field(default_factory=list)

    def service(
        self,
        gateway_for: Callable[[str], BoltricsGateway | None] | None = None,
        *,
        drained: bool = True,
        **options: Any,
    ) -> ProductService:
        """A ProductService over the harness's store, sandbox and hook;
        `drained` ones are run by `drain`."""
        service = ProductService(
            self.database,
            self.events,
            gateway_for or self.gateways.get,
            self.accounts.get,
            self.on_created,
            **options,
        )
        if drained:
            self.services.append(service)
        return service

    async def drain(self) -> None:
        """Run the services' senders until everything queued is decided."""
        async with asyncio.timeout(DRAIN_SECONDS):
            for service in self.services:
                await service.drain()

    async def on_created(self, account_id: str, external_nos: set[str]) -> None:
        """The hook: records what it is told."""
        self.created.append((account_id, external_nos))

    def connect(self, company_id: str, *, link_by_barcode: bool = False) -> None:
        """Point the account at a company of the sandbox."""
        connection = connection_to(self.sandbox, company_id)
        self.company_id = company_id
        self.accounts[ACCOUNT] = Account(
            id=ACCOUNT, boltrics=connection, link_by_barcode=link_by_barcode
        )
        if ACCOUNT in self.gateways:
            self.retired.append(self.gateways[ACCOUNT])
        self.gateways[ACCOUNT] = HttpxBoltricsGateway(
            connection,
            account=ACCOUNT,
            secret=SecretStr(CLIENT_SECRET),
            limiter=RateLimiter(0),
            retry=FAST_RETRIES,
        )

    async def items(self) -> dict[str, dict[str, Any]]:
        """The sandbox's items of the company, by ExternalNo."""
        listed = await self.control.call("GET", "/items")
        return {item["externalNo"]: item for item in listed["value"]}

    async def product_messages(self) -> list[dict[str, Any]]:
        """The materialmasterdata messages the sandbox received."""
        query = "/messages?direction=Inbound&messageType=materialmasterdata"
        return list((await self.control.call("GET", query))["value"])

    async def product_events(self) -> list[dict[str, Any]]:
        """The payloads of PRODUCT_CHANGED events recorded so far."""
        events = await self.events.read_after(
            0, accounts=[ACCOUNT], types=[EventType.PRODUCT_CHANGED], limit=100_000
        )
        return [event.payload for event in events]


def product(**changes: Any) -> ChannelProduct:
    """A valid product from shop-a on Shopify, with `changes` applied."""
    values: dict[str, Any] = {
        "product_id": "p-1",
        "source_platform": "shopify",
        "shop": "shop-a",
        "sku": "SKU-1",
        "barcodes": (EAN_A,),
        "name": "Mug",
        "weight_kg": 0.35,
    }
    values.update(changes)
    return ChannelProduct(**values)


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox without rate limit, processing after 10 ms."""
    async with run_sandbox(
        "127.0.0.1",
        0,
        clients={CLIENT_ID: CLIENT_SECRET},
        rate_limit=0,
        process_delay=0.01,
        seed=11,
    ) as running:
        yield running


@pytest.fixture
async def harness(
    any_store_url: str, sandbox: RunningSandbox
) -> AsyncIterator[Harness]:
    """A migrated store (SQLite and PostgreSQL), a sandbox company, the hook."""
    database = Database(any_store_url)
    await database.open()
    company_id = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=30) as http:
        # The control stays on the first company; `connect` may point elsewhere.
        control = Control(http, f"{sandbox.control_url}/companies/{company_id}")
        made = Harness(
            sandbox=sandbox,
            database=database,
            events=SqlEventLog(database),
            control=control,
            accounts={},
            gateways={},
        )
        made.connect(company_id)
        yield made
        for gateway in [*made.gateways.values(), *made.retired]:
            await gateway.aclose()
    await database.close()


def gateway_of(harness: Harness) -> BoltricsGateway:
    """The account's gateway."""
    return harness.gateways[ACCOUNT]
