"""The event log: append inside a business transaction, read after a cursor.

Cursors are the events' ids. A reader that resumes after cursor N must never
miss an event that commits later with a smaller id, so on PostgreSQL every
transaction that appends events takes one transaction-scoped advisory lock
first: ids are then handed out in commit order. (SQLite writers are serialized
by `BEGIN IMMEDIATE` already.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa

from service.adapters.store.database import Connection, Database
from service.adapters.store.tables import events
from service.domain.events import Event, EventType, NewEvent

_EVENT_LOCK = 0x45564E54  # "EVNT"
_APPEND = events.insert()


class EventSignal:
    """Wakes the readers of this process when events were committed."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    def notify(self) -> None:
        """Tell every waiting reader to look again."""
        for waiter in self._waiters:
            waiter.set()

    async def wait(self, seconds: float) -> None:
        """Wait for a notification, at most `seconds`."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), seconds)
        finally:
            self._waiters.discard(waiter)


class SqlEventLog:
    """Events in the SQL store."""

    def __init__(self, database: Database, signal: EventSignal | None = None):
        self._database = database
        self.signal = signal or EventSignal()

    # TODO: events are kept forever; a retention job (and a cursor that
    # reports "too old") is missing.
    async def append(self, conn: Connection, new: Sequence[NewEvent]) -> None:
        """Append events inside the caller's write transaction."""
        if not new:
            return
        if not self._database.is_sqlite:
            await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_EVENT_LOCK})"))
        now = datetime.now(UTC)
        await conn.execute(
            _APPEND,
            [
                {
                    "account_id": event.account_id,
                    "type": event.type.value,
                    "time": now,
                    "payload": orjson.dumps(event.payload).decode(),
                }
                for event in new
            ],
        )

    async def read_after(
        self,
        cursor: int,
        *,
        accounts: Sequence[str] | None,
        types: Sequence[EventType] = (),
        limit: int = 500,
    ) -> list[Event]:
        """Events after `cursor`, oldest first; `accounts` None means all."""
        query = (
            sa.select(events)
            .where(events.c.id > cursor)
            .order_by(events.c.id)
            .limit(limit)
        )
        if accounts is not None:
            query = query.where(events.c.account_id.in_(accounts))
        if types:
            query = query.where(events.c.type.in_([t.value for t in types]))
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Event(
                cursor=row.id,
                account_id=row.account_id,
                type=EventType(row.type),
                time=row.time,
                payload=orjson.loads(row.payload),
            )
            for row in rows
        ]

    async def last_cursor(self) -> int:
        """The newest event's cursor (0 when there is none)."""
        async with self._database.read() as conn:
            value = (await conn.execute(sa.select(sa.func.max(events.c.id)))).scalar()
        return int(value or 0)
