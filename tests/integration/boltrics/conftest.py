"""A sandbox on a free loopback port, and gateways and control clients for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.adapters.boltrics import (
    HttpxBoltricsGateway,
    RateLimiter,
    RetryPolicy,
)
from service.config import BoltricsConnection, SecretRef
from service.sandbox import RunningSandbox, run_sandbox

CLIENT_ID = "connector-test"
CLIENT_SECRET = "s3cret-value-never-logged"

#: Fast retries: the tests inject many faults and must stay quick.
FAST_RETRIES = RetryPolicy(attempts=40, initial_wait=0.002, max_wait=0.02)


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox without rate limit, processing after 10 ms."""
    async with run_sandbox(
        "127.0.0.1",
        0,
        clients={CLIENT_ID: CLIENT_SECRET},
        rate_limit=0,
        process_delay=0.01,
        seed=7,
    ) as running:
        yield running


@pytest.fixture
def company_id() -> str:
    """A fresh company, so each test starts from an empty warehouse."""
    return str(uuid.uuid4())


def connection_to(
    sandbox: RunningSandbox, company_id: str, **overrides: Any
) -> BoltricsConnection:
    """Connection settings that point at the sandbox."""
    settings: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "company_id": company_id,
        "token_url": sandbox.token_url,
        "client_id": CLIENT_ID,
        "client_secret": SecretRef(env="BOLTRICS_TEST_SECRET_UNUSED"),
        "timeout_seconds": 5.0,
        **overrides,
    }
    return BoltricsConnection(**settings)


GatewayMaker = Callable[..., HttpxBoltricsGateway]


@pytest.fixture
async def make_gateway(
    sandbox: RunningSandbox, company_id: str
) -> AsyncIterator[GatewayMaker]:
    """Builds gateways to the sandbox (rate limit off unless given) and closes them."""
    made: list[HttpxBoltricsGateway] = []

    def make(
        *,
        secret: str = CLIENT_SECRET,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = FAST_RETRIES,
        **overrides: Any,
    ) -> HttpxBoltricsGateway:
        gateway = HttpxBoltricsGateway(
            connection_to(sandbox, company_id, **overrides),
            account="acme",
            secret=SecretStr(secret),
            limiter=limiter or RateLimiter(0),
            retry=retry,
        )
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()


@pytest.fixture
async def gateway(make_gateway: GatewayMaker) -> HttpxBoltricsGateway:
    """A gateway with fast retries and no client-side rate limit."""
    return make_gateway()


@dataclass
class Control:
    """The sandbox's /_sandbox/ endpoints for one company."""

    http: httpx.AsyncClient
    root: str

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Call a control endpoint and return its JSON; fails on an error status."""
        response = await self.http.request(method, self.root + path, json=body)
        response.raise_for_status()
        return response.json()

    async def faults(self, **kinds: dict[str, float]) -> None:
        """Set the faults of this company by call kind."""
        await self.call("PUT", "/faults", {"kinds": kinds})

    async def add_items(self, *external_nos: str) -> None:
        """Make items known to the warehouse."""
        items = [{"externalNo": no, "description": f"Item {no}"} for no in external_nos]
        await self.call("POST", "/items", {"items": items})

    @property
    def sandbox_root(self) -> str:
        """The /_sandbox root, for the endpoints of the whole sandbox."""
        return self.root.split("/companies/")[0]

    async def stats(self) -> Any:
        """The sandbox-wide call statistics."""
        response = await self.http.get(self.sandbox_root + "/stats")
        return response.json()

    async def rate_limit(self, per_second: float) -> None:
        """Set the sandbox's rate limit."""
        url = self.sandbox_root + "/rate-limit"
        response = await self.http.put(url, json={"perSecond": per_second})
        response.raise_for_status()


@pytest.fixture
async def control(sandbox: RunningSandbox, company_id: str) -> AsyncIterator[Control]:
    """Control of the test's company in the sandbox."""
    async with httpx.AsyncClient(timeout=30) as http:
        yield Control(http, f"{sandbox.control_url}/companies/{company_id}")
