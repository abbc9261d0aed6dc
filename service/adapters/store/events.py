"""The event log: append inside a business transaction, read after a cursor.

Cursors are the events' ids. A reader that resumes after cursor N must never
miss an event that commits later with a smaller id, so on PostgreSQL every
transaction that appends events takes one transaction-scoped advisory lock
first: ids are then handed out in commit order. (SQLite writers are serialized
by `BEGIN IMMEDIATE` already.)

Old events are removed (`prune`), the newest one never, so that ids keep
growing on SQLite too. The newest id removed is kept: a reader whose cursor is
before it may have missed events and gets OutOfRange rather than a silent gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from service.adapters.store.database import (
    Connection,
    Database,
    plain_execute_many,
    plain_rows,
)
from service.adapters.store.tables import event_retention, events
from service.domain.events import Event, EventType, NewEvent
from service.errors import OutOfRange

_EVENT_LOCK = 0x45564E54  # "EVNT"
_APPEND = events.insert()
_LOCK_APPENDS = sa.text(f"SELECT pg_advisory_xact_lock({_EVENT_LOCK})")


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

    async def lock_appends(self, conn: Connection) -> None:
        """Hold the right to append until the transaction ends (PostgreSQL: its
        appends then commit in cursor order; on SQLite every write transaction
        has it). A transaction that may append after locking rows takes it
        first, so that two such transactions never wait for each other."""
        if not self._database.is_sqlite:
            await conn.execute(_LOCK_APPENDS)

    async def append(self, conn: Connection, new: Sequence[NewEvent]) -> None:
        """Append events inside the caller's write transaction."""
        if not new:
            return
        await self.lock_appends(conn)
        now = datetime.now(UTC)
        await plain_execute_many(
            conn,
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
        query = _READ_AFTER[accounts is not None, bool(types)]
        parameters: dict[str, object] = {"cursor": cursor, "limit": limit}
        if accounts is not None:
            parameters["accounts"] = list(accounts)
        if types:
            parameters["types"] = [t.value for t in types]
        async with self._database.read() as conn:
            rows = (await conn.execute(query, parameters)).all()
            # Read after the page: a removal that came between the two is seen.
            pruned = await _pruned_through(conn)
        if cursor and cursor < pruned:
            msg = (
                f"cursor {cursor} is older than the events kept: events up to "
                f"{pruned} were removed; resume from cursor {pruned} (or from "
                "the start) and resynchronise what may have been missed"
            )
            raise OutOfRange(
                msg, metadata={"cursor": str(cursor), "oldest_cursor": str(pruned)}
            )
        # The rows were validated on the way in: no second validation per event.
        return [
            Event.model_construct(
                cursor=row.id,
                account_id=row.account_id,
                type=EventType(row.type),
                time=row.time,
                payload=orjson.loads(row.payload),
            )
            for row in rows
        ]

    async def prune(self, before: datetime, *, keep_after: int) -> int:
        """Remove the events recorded before `before`, except the newest event
        and any after cursor `keep_after` (what internal readers have yet to
        read); how many were removed."""
        removed = 0
        while True:
            async with self._database.write() as conn:
                newest = (await conn.execute(_NEWEST)).scalar() or 0
                limit = min(keep_after, int(newest) - 1)
                oldest = await conn.execute(_OLDEST, {"through": limit})
                doomed = list(itertools.takewhile(lambda r: r.time < before, oldest))
                if not doomed:
                    return removed
                through = int(doomed[-1].id)
                await conn.execute(events.delete().where(events.c.id <= through))
                await conn.execute(_record_pruned(self._database.is_sqlite, through))
            removed += len(doomed)

    async def pruned_through(self) -> int:
        """The newest event id removed so far (0 when none was)."""
        async with self._database.read() as conn:
            return await _pruned_through(conn)

    async def last_cursor(self) -> int:
        """The newest event's cursor (0 when there is none)."""
        async with self._database.read() as conn:
            found = await plain_rows(conn, _LAST_CURSOR, {})
        return int(found[0][0] or 0) if found else 0


def _read_after(by_account: bool, by_type: bool) -> sa.Select[Any]:
    query = (
        sa.select(events)
        .where(events.c.id > sa.bindparam("cursor"))
        .order_by(events.c.id)
        .limit(sa.bindparam("limit"))
    )
    if by_account:
        query = query.where(
            events.c.account_id.in_(sa.bindparam("accounts", expanding=True))
        )
    if by_type:
        query = query.where(events.c.type.in_(sa.bindparam("types", expanding=True)))
    return query


# Built once: every subscriber reads a page each time it is woken, and building
# the statement cost more than running it.
_READ_AFTER = {
    (by_account, by_type): _read_after(by_account, by_type)
    for by_account in (False, True)
    for by_type in (False, True)
}

_NAME = "events"
_PRUNE_BATCH = 5_000
_NEWEST = sa.select(sa.func.max(events.c.id))
# The oldest events in id order; `prune` removes them up to the first one that
# is recent enough. Ids follow commit order and times nearly so: reading by id
# walks the primary key, where a filter on time would scan every recent event.
_OLDEST = (
    sa.select(events.c.id, events.c.time)
    .where(events.c.id <= sa.bindparam("through"))
    .order_by(events.c.id)
    .limit(_PRUNE_BATCH)
)
_LAST_CURSOR = sa.select(sa.func.max(events.c.id))
_PRUNED_THROUGH = sa.select(event_retention.c.pruned_through).where(
    event_retention.c.name == _NAME
)


async def _pruned_through(conn: Connection) -> int:
    found = await plain_rows(conn, _PRUNED_THROUGH, {})
    return int(found[0][0] or 0) if found else 0


def _record_pruned(sqlite_store: bool, through: int) -> Any:
    """Raise the recorded newest removed id to `through`, never lower it: two
    replicas pruning at once may finish out of order."""
    insert = (sqlite if sqlite_store else postgresql).insert(event_retention)
    higher = sa.func.max if sqlite_store else sa.func.greatest
    return insert.values(name=_NAME, pruned_through=through).on_conflict_do_update(
        index_elements=[event_retention.c.name],
        set_={
            "pruned_through": higher(
                event_retention.c.pruned_through, insert.excluded.pruned_through
            )
        },
    )
