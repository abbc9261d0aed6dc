"""SQLite's group commit: concurrent writers share commits, each stays atomic
and durable on its own, and readers see committed data only."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.adapters.store.database import Database
from service.metrics import STORE_GROUP_SIZE

_INSERT = sa.text(
    "INSERT INTO request_keys (account_id, request_id, method, request_digest, "
    "response, created_at) VALUES (:account, :key, 'm', 'd', x'00', "
    "'2026-01-01 00:00:00')"
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file."""
    store = Database(f"sqlite+aiosqlite:///{tmp_path / 'group.sqlite3'}")
    await store.open()
    yield store
    await store.close()


def committed_keys(path: Path) -> set[str]:
    """The request keys another connection sees: only what was committed."""
    with sqlite3.connect(path) as other:
        return {row[0] for row in other.execute("SELECT request_id FROM request_keys")}


def _commits() -> float:
    return next(
        sample.value
        for metric in STORE_GROUP_SIZE.collect()
        for sample in metric.samples
        if sample.name.endswith("_count")
    )


class TestGroupCommit:
    async def test_concurrent_writers_share_commits_and_each_is_durable(
        self, database: Database, tmp_path: Path
    ) -> None:
        """Twenty writers at once take fewer than twenty commits, and each one's
        row is committed (seen by another connection) when its block returns."""
        path = tmp_path / "group.sqlite3"
        seen_after: dict[str, bool] = {}
        before = _commits()

        async def writer(key: str) -> None:
            async with database.write() as conn:
                await conn.execute(_INSERT, {"account": "a", "key": key})
            seen_after[key] = key in committed_keys(path)

        await asyncio.gather(*(writer(f"k{n}") for n in range(20)))

        assert seen_after == {f"k{n}": True for n in range(20)}
        assert _commits() - before < 20

    async def test_a_failing_writer_is_rolled_back_alone(
        self, database: Database, tmp_path: Path
    ) -> None:
        """In a group, the writer whose block raises loses its row and gets its
        error; the others' rows are committed."""

        async def writer(key: str, fail: bool) -> None:
            async with database.write() as conn:
                await conn.execute(_INSERT, {"account": "a", "key": key})
                if fail:
                    raise LookupError(key)

        results = await asyncio.gather(
            writer("first", False),
            writer("broken", True),
            writer("last", False),
            return_exceptions=True,
        )

        assert [type(result) for result in results] == [
            type(None),
            LookupError,
            type(None),
        ]
        assert committed_keys(tmp_path / "group.sqlite3") == {"first", "last"}

    async def test_a_reader_sees_a_lingering_group_committed(
        self, database: Database, tmp_path: Path
    ) -> None:
        """A read that comes while a group waits for company commits it first:
        it reads what another connection would read."""

        async def writer() -> None:
            async with database.write() as conn:
                await conn.execute(_INSERT, {"account": "a", "key": "w"})

        writing = asyncio.create_task(writer())
        await asyncio.sleep(0)  # the writer's block is done; its group lingers
        async with database.read() as conn:
            keys = set(
                (await conn.execute(sa.text("SELECT request_id FROM request_keys")))
                .scalars()
                .all()
            )
            elsewhere = committed_keys(tmp_path / "group.sqlite3")
        await writing

        assert keys == {"w"} and elsewhere == {"w"}

    async def test_the_store_is_synchronous_full_unless_configured(
        self, tmp_path: Path
    ) -> None:
        """Commits are flushed to disk (FULL) by default; NORMAL on request."""
        found = {}
        for setting in ("full", "normal"):
            store = Database(
                f"sqlite+aiosqlite:///{tmp_path / (setting + '.sqlite3')}",
                sqlite_synchronous=setting,  # type: ignore[arg-type]
            )
            await store.open()
            async with store.read() as conn:
                found[setting] = (
                    await conn.execute(sa.text("PRAGMA synchronous"))
                ).scalar()
            await store.close()

        assert found == {"full": 2, "normal": 1}


@pytest.fixture
def slow_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every COMMIT takes a fifth of a second longer (as a slow disk would)."""
    commit = sa.RootTransaction.commit

    def slow(self: sa.RootTransaction) -> None:
        time.sleep(0.2)
        commit(self)

    monkeypatch.setattr(sa.RootTransaction, "commit", slow)


@pytest.mark.usefixtures("slow_commits")
class TestCommitOffTheLoop:
    async def test_the_event_loop_runs_on_while_a_group_commits(
        self, database: Database, tmp_path: Path
    ) -> None:
        """A commit runs in the committer thread: other tasks go on meanwhile,
        and the writer returns only once its row is committed."""
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        async with database.write() as conn:
            await conn.execute(_INSERT, {"account": "a", "key": "k"})
        committed = committed_keys(tmp_path / "group.sqlite3")
        ticking.cancel()

        assert committed == {"k"}
        assert ticks >= 5

    async def test_a_writer_cancelled_during_the_commit_leaves_it_whole(
        self, database: Database, tmp_path: Path
    ) -> None:
        """Cancelling the writer that commits its group does not cut the commit
        short: the group's rows are committed, the other member's wait ends,
        and the next writer gets the connection only after the commit."""
        started = asyncio.Event()

        async def writer(key: str) -> None:
            async with database.write() as conn:
                await conn.execute(_INSERT, {"account": "a", "key": key})
                started.set()

        first = asyncio.create_task(writer("first"))
        second = asyncio.create_task(writer("second"))
        await started.wait()
        await asyncio.sleep(0.05)  # the group's commit has begun
        first.cancel()
        second.cancel()
        results = await asyncio.gather(first, second, return_exceptions=True)
        await writer("third")

        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert committed_keys(tmp_path / "group.sqlite3") == {
            "first",
            "second",
            "third",
        }
