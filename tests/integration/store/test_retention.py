"""Old events and request ids are removed; an expired cursor is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog, _record_pruned
from service.adapters.store.request_keys import SqlRequestKeys
from service.config import RetentionSettings
from service.domain.events import EventType, NewEvent
from service.errors import OutOfRange
from service.services.idempotency import StoredAnswer
from service.services.retention import Retention

SOON = timedelta(seconds=5)


class Log(SqlEventLog):
    """The event log with its database at hand, to append events directly."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.database = database


@pytest.fixture
async def log(any_store_url: str) -> AsyncIterator[Log]:
    """An event log on a fresh store, SQLite and PostgreSQL."""
    database = Database(any_store_url)
    await database.open()
    yield Log(database)
    await database.close()


async def record(log: Log, count: int, account: str = "acme") -> list[int]:
    """Append `count` events; their cursors."""
    before = await log.last_cursor()
    async with log.database.write() as conn:
        await log.append(
            conn,
            [
                NewEvent(
                    account_id=account,
                    type=EventType.ORDER_SKIPPED,
                    payload={"n": n},
                )
                for n in range(count)
            ],
        )
    read = await log.read_after(before, accounts=None, limit=count)
    cursors = [event.cursor for event in read]
    assert len(cursors) == count
    return cursors


class TestPrune:
    async def test_old_events_go_and_recent_ones_stay(self, log: Log) -> None:
        """Events before the cut-off are removed; those after it are kept."""
        old = await record(log, 3)
        cut_off = datetime.now(UTC)
        recent = await record(log, 2)

        removed = await log.prune(cut_off, keep_after=recent[-1])

        kept = await log.read_after(0, accounts=None)
        assert removed == 3
        assert [e.cursor for e in kept] == recent
        assert await log.pruned_through() == old[-1]

    async def test_the_newest_event_is_never_removed(self, log: Log) -> None:
        """Even when every event is old, the newest stays, so ids keep growing."""
        cursors = await record(log, 4)

        await log.prune(datetime.now(UTC) + SOON, keep_after=cursors[-1])
        later = await record(log, 1)

        assert [e.cursor for e in await log.read_after(0, accounts=None)] == [
            cursors[-1],
            *later,
        ]
        assert later[0] > cursors[-1]

    async def test_events_an_internal_reader_has_not_read_stay(self, log: Log) -> None:
        """Old events after the internal readers' cursor are kept."""
        cursors = await record(log, 5)

        removed = await log.prune(datetime.now(UTC) + SOON, keep_after=cursors[1])

        assert removed == 2
        kept = await log.read_after(0, accounts=None)
        assert [e.cursor for e in kept] == cursors[2:]

    async def test_more_than_one_batch_is_removed(self, log: Log) -> None:
        """Removal goes on batch after batch until nothing old is left."""
        cursors = await record(log, 12_001)

        removed = await log.prune(datetime.now(UTC) + SOON, keep_after=cursors[-1])

        assert removed == 12_000
        assert await log.pruned_through() == cursors[-2]

    async def test_a_late_replica_never_lowers_the_removed_mark(self, log: Log) -> None:
        """A replica that removed fewer events but commits last leaves the mark
        where the other one put it. (The race itself cannot be staged from
        outside; this runs the statement that each replica commits.)"""
        cursors = await record(log, 4)
        await log.prune(datetime.now(UTC) + SOON, keep_after=cursors[-1])

        async with log.database.write() as conn:
            await conn.execute(_record_pruned(log.database.is_sqlite, cursors[0]))

        assert await log.pruned_through() == cursors[2]


class TestExpiredCursor:
    async def test_a_cursor_before_the_removal_is_out_of_range(self, log: Log) -> None:
        """Reading after a removed event's cursor names the oldest usable one."""
        cursors = await record(log, 4)
        await log.prune(datetime.now(UTC) + SOON, keep_after=cursors[-1])

        with pytest.raises(OutOfRange) as caught:
            await log.read_after(cursors[0], accounts=["acme"])

        assert caught.value.metadata["oldest_cursor"] == str(cursors[2])
        assert "resume from cursor" in caught.value.message

    async def test_the_last_removed_cursor_and_the_start_still_work(
        self, log: Log
    ) -> None:
        """After the newest removed event nothing is missing; an empty cursor
        starts at the oldest event kept."""
        cursors = await record(log, 4)
        await log.prune(datetime.now(UTC) + SOON, keep_after=cursors[-1])

        resumed = await log.read_after(cursors[2], accounts=["acme"])
        started = await log.read_after(0, accounts=["acme"])

        assert [e.cursor for e in resumed] == [cursors[3]]
        assert [e.cursor for e in started] == [cursors[3]]


class FakeClock:
    """A clock the test sets."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class TestRetentionService:
    async def test_prunes_what_is_older_than_the_retention(self, log: Log) -> None:
        """With a retention of an hour, an hour later the events are gone, but
        not what the internal reader has yet to read; request ids likewise."""
        cursors = await record(log, 3)
        keys = SqlRequestKeys(log.database)
        await keys.put("acme", "r-1", StoredAnswer("CreateOrder", "d", b"answer"))
        clock = FakeClock(datetime.now(UTC))

        async def position() -> int:
            return cursors[1]

        settings = RetentionSettings(events_seconds=3600, request_ids_seconds=3600)
        retention = Retention(log, keys, position, settings, clock=clock)

        assert await retention.prune_once() == (0, 0)
        assert await keys.get("acme", "r-1") is not None
        clock.now += timedelta(hours=1, seconds=1)
        assert await retention.prune_once() == (2, 1)
        assert [e.cursor for e in await log.read_after(0, accounts=None)] == [
            cursors[2]
        ]
        assert await keys.get("acme", "r-1") is None
