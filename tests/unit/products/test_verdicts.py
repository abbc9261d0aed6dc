"""Following product messages' verdicts in as few requests as it can."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

from service.adapters.boltrics import BoltricsGateway, BoltricsNotFound, DiMessage
from service.adapters.store.products import Batch
from service.domain.products import SendAction
from service.services.product_sender import VerdictReader


class _Boltrics:
    """Messages by id with their status and error text; counts the requests."""

    def __init__(self, messages: dict[str, tuple[str, str]]):
        self.messages = messages
        self.listed: list[str] = []
        self.read: list[str] = []

    async def list_messages(self, **filters: Any) -> AsyncIterator[DiMessage]:
        self.listed.append(filters["status"])
        for message_id, (status, error) in self.messages.items():
            if status == filters["status"]:
                yield _message(message_id, status, error)

    async def get_message(self, message_id: str, **_: Any) -> DiMessage:
        self.read.append(message_id)
        if message_id not in self.messages:
            raise BoltricsNotFound(f"no message {message_id}")
        status, error = self.messages[message_id]
        return _message(message_id, status, error)


def _message(message_id: str, status: str, error: str) -> DiMessage:
    return DiMessage(
        id=message_id,
        message_type="materialmasterdata",
        direction="Inbound",
        status=status,
        external_reference=f"ref-{message_id}",
        content=b"",
        error_text=error,
        created_at=datetime.now(UTC),
        etag="W/1",
    )


def _batch(message_id: str) -> Batch:
    return Batch(
        batch_id=f"b-{message_id}",
        account_id="acme",
        action=SendAction.INSERT,
        reference=f"ref-{message_id}",
        items=(),
        message_id=message_id,
    )


def _history(count: int) -> dict[str, tuple[str, str]]:
    return {f"old-{n}": ("Failed", "long ago") for n in range(count)}


async def _decide(
    reader: VerdictReader, boltrics: _Boltrics, *ids: str
) -> dict[str, str | None]:
    gateway = cast(BoltricsGateway, boltrics)
    decided = await reader.decided("acme", gateway, [_batch(i) for i in ids])
    return {batch.message_id: error for batch, error in decided}


class TestVerdictRequests:
    async def test_a_round_with_nothing_decided_lists_no_history(self) -> None:
        """While every message is pending, the Failed and Skipped lists are
        not read."""
        boltrics = _Boltrics({"m-1": ("New", "")} | _history(250))

        assert await _decide(VerdictReader(), boltrics, "m-1") == {}
        assert boltrics.listed == ["New", "Processing"]

    async def test_few_decided_messages_are_read_by_id_once_history_is_long(
        self,
    ) -> None:
        """The lists span four pages (three of failures, one of skips): two
        decided messages are then read by id, with the same verdicts."""
        boltrics = _Boltrics(
            {"m-1": ("Failed", "Item X does not exist")} | _history(250)
        )
        reader = VerdictReader()
        assert await _decide(reader, boltrics, "m-1") == {
            "m-1": "Item X does not exist"
        }
        boltrics.messages |= {"m-2": ("Processed", ""), "m-3": ("Skipped", "")}
        boltrics.listed.clear()

        verdicts = await _decide(reader, boltrics, "m-2", "m-3")

        assert verdicts == {"m-2": None, "m-3": "Boltrics skipped it"}
        assert boltrics.listed == ["New", "Processing"]
        assert boltrics.read == ["m-2", "m-3"]

    async def test_a_message_boltrics_no_longer_has_counts_as_processed(
        self,
    ) -> None:
        """Read by id, a 404 is taken as the lists would take it: processed."""
        boltrics = _Boltrics(_history(250))
        reader = VerdictReader()
        await _decide(reader, boltrics, "old-0")

        assert await _decide(reader, boltrics, "gone") == {"gone": None}
