"""The process's one SQLite connection, with group commit.

Writers queue for the connection. While one runs, others may arrive; instead
of a commit each, they share one SQLite transaction: every writer's block runs
in a savepoint of its own, rolled back alone when the block fails, and the
writer that finds nobody waiting behind it commits for the whole group. Each
writer's block returns only once that commit is done, so what it wrote is
durable when it carries on, as with a commit of its own. A commit is the
dearest part of a small transaction; concurrent callers now share it.

After its block, a writer holds the group open for a millisecond, so that
writers arriving meanwhile can join (a lone writer soon stops waiting, see
`_pause`); the group then closes when no writer waits or runs, at `MAX_GROUP`
members, or as soon as a reader takes its turn: reads see committed data
only. The COMMIT itself runs in a thread of its own while the lock keeps
everyone else off the connection, so that the event loop serves other calls
through the fsync.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Executable

from service.adapters.store.tables import sqlite_text
from service.logging import get_logger
from service.metrics import STORE_GROUP_SIZE

WRITE_OPTION = "connector_write"
MAX_GROUP = 64
LINGER_SECONDS = 0.001
SOLO_LIMIT = 3
PROBE_EVERY = 64

_log = get_logger(__name__)


class InlineConnection:
    """A synchronous SQLite connection behind the async `execute` of `Connection`.

    SQLite answers from the local file in microseconds, while handing every
    statement to a driver thread (as aiosqlite does) costs a thread switch or
    more per statement: inline, an order's whole transaction is quicker than
    one such switch.
    """

    def __init__(self, conn: sa.Connection):
        self._conn = conn

    @property
    def dialect(self) -> sa.Dialect:
        return self._conn.dialect

    async def execute(
        self, statement: Executable, parameters: Any = None
    ) -> CursorResult[Any]:
        return self._conn.execute(statement, parameters)

    def plain_rows(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows of a statement, straight from the driver: SQL text as it
        stands (SQLite takes `:name` parameters), a Core statement as compiled
        once (see `_compiled`), timestamps bound as `UtcDateTime` binds them,
        columns as SQLite returns them."""
        text, fixed = _compiled(statement, tuple(parameters))
        bound = _bound(parameters)
        if fixed:
            bound = {**fixed, **bound}
        cursor = _driver(self._conn).execute(text, bound)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows

    def plain_execute_many(
        self, statement: Executable, parameters: Sequence[Mapping[str, Any]]
    ) -> None:
        """Run a write statement once per parameter set, straight through the
        driver (as `plain_rows` reads)."""
        text, fixed = _compiled(statement, tuple(parameters[0]))
        _driver(self._conn).executemany(
            text, [{**fixed, **_bound(values)} for values in parameters]
        )


#: SQLAlchemy's SQLite dialect, writing `:name` parameters as the driver takes.
_NAMED = sqlite.dialect(paramstyle="named")
_Compiled = tuple[Executable, str, dict[str, Any]]
_COMPILED: dict[tuple[int, tuple[str, ...]], _Compiled] = {}
_COMPILED_MAX = 512


def _compiled(
    statement: Executable, keys: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """The SQLite text of a statement, and the values of the parameters it
    fixes itself (constants, `LIMIT 1`): SQL text as it is; a Core statement
    compiled once for the parameter names `keys` (an INSERT names only those
    columns). Running the text through the driver spares SQLAlchemy's
    per-execution work, which costs many times SQLite's own on small
    statements; the statements are module constants, kept here by identity."""
    if isinstance(statement, sa.TextClause):
        return statement.text, {}
    key = (id(statement), keys)
    found = _COMPILED.get(key)
    if found is None:
        assert isinstance(statement, sa.ClauseElement)
        compiled = statement.compile(dialect=_NAMED, column_keys=list(keys))
        assert isinstance(compiled, SQLCompiler)
        fixed = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required
        }
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        # The statement stays referenced, so its id is not reused meanwhile.
        found = _COMPILED[key] = (statement, str(compiled), fixed)
    return found[1], found[2]


@dataclass
class _Group:
    """One SQLite transaction and the writers that share it."""

    transaction: sa.RootTransaction
    committed: asyncio.Future[None]
    members: int = 0
    lingered: bool = False


class GroupCommitConnection:
    """Read and write transactions over one SQLite connection (see the module)."""

    def __init__(self, conn: sa.Connection):
        self._conn: sa.Connection | None = conn
        self._lock = asyncio.Lock()
        self._writers_waiting = 0
        self._group: _Group | None = None
        self._solo_streak = 0
        self._unlingered = 0
        self._closers: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[InlineConnection]:
        """A read transaction, after any open group has committed."""
        async with self._lock:
            conn = self._open()
            await self._close_group()
            conn.execution_options(**{WRITE_OPTION: False})
            with conn.begin():
                yield InlineConnection(conn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[InlineConnection]:
        """A write transaction: the block's writes are committed when it ends
        (with those of its group), and rolled back when it raises."""
        self._writers_waiting += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._writers_waiting -= 1
            self._close_if_abandoned()
            raise
        self._writers_waiting -= 1
        try:
            conn = self._open()
            group = self._join(conn)
            driver = _driver(conn)
            try:
                driver.execute("SAVEPOINT member")
                yield InlineConnection(conn)
            except BaseException:
                self._undo_member(driver)
                if not self._writers_waiting:
                    await self._close_group()
                raise
            driver.execute("RELEASE member")
            if group.members >= MAX_GROUP:
                await self._close_group()
        finally:
            self._lock.release()
        # Let other writers join; unless one of them did (and closes the group
        # after its own block), commit it, even when this writer is cancelled.
        try:
            await asyncio.sleep(self._pause(group))
        finally:
            unattended = not (self._lock.locked() or self._writers_waiting)
            if self._group is group and unattended:
                async with self._lock:  # free: taken without waiting
                    if self._group is group:
                        await self._close_group()
        await asyncio.shield(group.committed)

    async def close(self) -> None:
        """Commit any open group, then close the connection."""
        async with self._lock:
            await self._close_group()
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _pause(self, group: _Group) -> float:
        """How long a writer holds its group open for others to join.

        `LINGER_SECONDS` while that gathers company; after `SOLO_LIMIT` lingered
        groups in a row that nobody joined (a lone writer), not at all, but for
        one probe every `PROBE_EVERY` groups.
        """
        if group.members > 1 or self._solo_streak < SOLO_LIMIT:
            group.lingered = True
            return LINGER_SECONDS
        self._unlingered += 1
        if self._unlingered >= PROBE_EVERY:
            self._unlingered = 0
            group.lingered = True
            return LINGER_SECONDS
        return 0.0

    def _open(self) -> sa.Connection:
        if self._conn is None:
            msg = "the database is closed"
            raise RuntimeError(msg)
        return self._conn

    def _join(self, conn: sa.Connection) -> _Group:
        if self._group is None:
            conn.execution_options(**{WRITE_OPTION: True})
            future = asyncio.get_running_loop().create_future()
            self._group = _Group(conn.begin(), future)
        self._group.members += 1
        return self._group

    def _undo_member(self, driver: Any) -> None:
        """Roll back the failed block's savepoint; if SQLite has already rolled
        back the whole transaction, the group fails for every member."""
        try:
            driver.execute("ROLLBACK TO member")
            driver.execute("RELEASE member")
        except Exception as exc:
            self._fail_group(exc)

    async def _close_group(self) -> None:
        """Commit the open group; the caller holds the lock.

        The COMMIT (with `synchronous = full`, an fsync) runs in the store's
        own thread, so that the event loop goes on with other calls meanwhile;
        the lock keeps the connection to that thread until it is done.
        """
        group, self._group = self._group, None
        if group is None:
            return
        error, cancelled = await _in_committer(group.transaction.commit)
        if error is not None:
            self._group = group
            self._fail_group(error)
        else:
            STORE_GROUP_SIZE.observe(group.members)
            if group.members > 1:
                self._solo_streak = 0
            elif group.lingered:
                self._solo_streak += 1
            if not group.committed.done():
                group.committed.set_result(None)
        if cancelled:
            raise asyncio.CancelledError

    def _fail_group(self, error: Exception) -> None:
        group, self._group = self._group, None
        if group is None:
            return
        _log.error("store.group_commit_failed", members=group.members, error=str(error))
        try:
            group.transaction.rollback()
        except Exception:
            _log.exception("store.rollback_failed")
        if not group.committed.done():
            group.committed.set_exception(error)
            # Marked retrieved: a member whose own block failed does not await it.
            group.committed.exception()

    def _close_if_abandoned(self) -> None:
        # The writer the last member left the group open for gave up waiting.
        if self._group is None or self._writers_waiting or self._lock.locked():
            return
        task = asyncio.get_running_loop().create_task(self._close_soon())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _close_soon(self) -> None:
        async with self._lock:
            await self._close_group()


_COMMITTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")


async def _in_committer(commit: Callable[[], None]) -> tuple[Exception | None, bool]:
    """Run `commit` in the committer thread and wait for it to end, even when
    the waiting task is cancelled meanwhile: the connection is not to be used
    again before. Its error, if any, and whether the task was cancelled."""
    done = asyncio.get_running_loop().run_in_executor(_COMMITTER, commit)
    cancelled = False
    while not done.done():
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:  # noqa: S110 - done: its error is returned below
            pass
    error = done.exception()
    if error is not None and not isinstance(error, Exception):
        raise error
    return error, cancelled


def _bound(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the driver takes them: timestamps as `UtcDateTime` text."""
    return {
        name: sqlite_text(value) if isinstance(value, datetime) else value
        for name, value in parameters.items()
    }


def _driver(conn: sa.Connection) -> Any:
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver
