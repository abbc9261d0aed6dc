"""What the rest of the service needs from Boltrics, and one gateway per connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Protocol

from service.adapters.boltrics.documents import DiMessage, StockLevel
from service.config import BoltricsConnection


class BoltricsGateway(Protocol):
    """The Boltrics DI API of one connection, with faults and retries handled.

    `deadline` is an absolute `time.monotonic()` value that no call outlives.
    """

    async def submit(
        self,
        message_type: str,
        external_reference: str,
        xml: bytes,
        *,
        deadline: float | None = None,
    ) -> DiMessage:
        """Post one message; an unknown outcome is looked up before posting again."""
        ...

    async def find_by_reference(
        self,
        external_reference: str,
        *,
        message_type: str | None = None,
        deadline: float | None = None,
    ) -> DiMessage | None:
        """The oldest Inbound message with this external reference, if any."""
        ...

    async def get_message(
        self, message_id: str, *, deadline: float | None = None
    ) -> DiMessage:
        """One message by id; BoltricsNotFound if unknown."""
        ...

    def list_messages(
        self,
        *,
        direction: str | None = None,
        status: str | None = None,
        message_type: str | None = None,
        external_reference: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[DiMessage]:
        """Every matching message, oldest first, paging through next-links."""
        ...

    async def acknowledge(
        self, message: DiMessage, *, deadline: float | None = None
    ) -> None:
        """Mark an Outbound message Processed (If-Match; re-read on a stale etag)."""
        ...

    def stock_level_pages(
        self,
        *,
        modified_since: datetime | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[list[StockLevel]]:
        """Every stock level (changed since `modified_since`), a page at a time."""
        ...

    @property
    def congested(self) -> bool:
        """Whether calls queue for the connection's rate limit now: background
        polls then space out, leaving the slots to orders."""
        ...

    async def aclose(self) -> None:
        """Release the gateway's connections."""
        ...


GatewayFactory = Callable[[str, BoltricsConnection], BoltricsGateway]


def httpx_gateway(account: str, connection: BoltricsConnection) -> BoltricsGateway:
    """The production factory: an `HttpxBoltricsGateway` with its own limiter."""
    from service.adapters.boltrics.client import HttpxBoltricsGateway

    return HttpxBoltricsGateway(connection, account=account)


class GatewayRegistry:
    """Hands out one gateway per account and connection, so that all users of a
    connection share its token cache and rate limiter.

    A changed connection for an account (after a settings reload) gets a new
    gateway; the old one is closed by `aclose`.
    """

    def __init__(self, factory: GatewayFactory = httpx_gateway) -> None:
        self._factory = factory
        self._gateways: dict[str, tuple[BoltricsConnection, BoltricsGateway]] = {}
        self._retired: list[BoltricsGateway] = []

    def get(self, account: str, connection: BoltricsConnection) -> BoltricsGateway:
        """The gateway of this account's connection, created on first use."""
        known = self._gateways.get(account)
        if known is not None and known[0] == connection:
            return known[1]
        if known is not None:
            self._retired.append(known[1])

        gateway = self._factory(account, connection)
        self._gateways[account] = (connection, gateway)
        return gateway

    async def aclose(self) -> None:
        """Close every gateway handed out."""
        gateways = [gateway for _, gateway in self._gateways.values()] + self._retired
        self._gateways.clear()
        self._retired.clear()
        for gateway in gateways:
            await gateway.aclose()
