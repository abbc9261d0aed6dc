"""Following the event log: a resumable stream per subscriber cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from service.adapters.store.events import SqlEventLog
from service.domain.events import Event, EventType

POLL_SECONDS = 0.5
PAGE = 500


async def follow_events(
    log: SqlEventLog,
    *,
    after: int,
    accounts: Sequence[str] | None,
    types: Sequence[EventType] = (),
) -> AsyncIterator[Event]:
    """Every event after cursor `after`, in order, then new ones as they come.

    Events of this process wake the stream at once; events written by other
    replicas are seen within `POLL_SECONDS`.
    """
    cursor = after
    while True:
        page = await log.read_after(cursor, accounts=accounts, types=types, limit=PAGE)
        for event in page:
            yield event
            cursor = event.cursor
        if len(page) < PAGE:
            await log.signal.wait(POLL_SECONDS)
