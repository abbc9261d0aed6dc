"""Test doubles for what a unit under test does not test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from service.adapters.boltrics import (
    BoltricsRejected,
    BoltricsTransientError,
    DiMessage,
    StockLevel,
)
from service.domain.orders import Decision, Order


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += timedelta(seconds=seconds)


class FakeGateway:
    """A Boltrics that records posts and fails them as told."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, bytes]] = []
        self.fail_with: Exception | None = None
        self.congested = False

    def transient(self) -> None:
        """Every post fails as if Boltrics were down."""
        self.fail_with = BoltricsTransientError("503 from Boltrics")

    def reject(self, text: str) -> None:
        """Every post is refused with `text`."""
        self.fail_with = BoltricsRejected(text)

    def heal(self) -> None:
        """Posts succeed again."""
        self.fail_with = None

    async def submit(
        self,
        message_type: str,
        external_reference: str,
        xml: bytes,
        *,
        deadline: float | None = None,
    ) -> DiMessage:
        if self.fail_with is not None:
            raise self.fail_with
        self.posted.append((message_type, external_reference, xml))
        return _message(f"m-{len(self.posted)}", external_reference)

    async def find_by_reference(
        self,
        external_reference: str,
        *,
        message_type: str | None = None,
        deadline: float | None = None,
        direction: str = "Inbound",
    ) -> DiMessage | None:
        for index, (_, reference, _) in enumerate(self.posted):
            if reference == external_reference:
                return _message(f"m-{index + 1}", reference)
        return None

    async def get_message(
        self, message_id: str, *, deadline: float | None = None
    ) -> DiMessage:
        raise NotImplementedError

    async def _empty(self) -> AsyncIterator[Any]:
        for item in ():
            yield item

    def list_messages(self, **filters: Any) -> AsyncIterator[DiMessage]:
        return self._empty()

    async def acknowledge(
        self, message: DiMessage, *, deadline: float | None = None
    ) -> None:
        return None

    def stock_level_pages(self, **filters: Any) -> AsyncIterator[list[StockLevel]]:
        return self._empty()

    async def aclose(self) -> None:
        return None


def _message(message_id: str, reference: str) -> DiMessage:
    return DiMessage(
        id=message_id,
        message_type="receiveshipment",
        direction="Inbound",
        status="New",
        external_reference=reference,
        content=b"",
        error_text="",
        created_at=datetime.now(UTC),
        etag="W/1",
    )


class FakeDecider:
    """Sends every order with one method, as if one rule matched."""

    def __init__(self, method: str = "DHL") -> None:
        self.method = method

    def decide(self, account_id: str, order: Order) -> Decision:
        return Decision(
            method=self.method,
            source="rule",
            rule_id="everything",
            checkout_preference=order.shipping_preference,
        )


class FakeStatuses:
    """A status mapping for the channel "woo": "wc-processing" is Processing."""

    def translate(
        self, account_id: str, channel: str, webshop_status: str
    ) -> str | None:
        if channel == "woo":
            return {"wc-processing": "processing", "wc-on-hold": "on_hold"}.get(
                webshop_status
            )
        return None
