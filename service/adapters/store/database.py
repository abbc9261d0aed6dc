"""The database: engine, transactions and migrations, for SQLite and PostgreSQL.

SQLite (the default) needs no set-up: the file is created and migrated at
start. It runs in WAL mode, and write transactions begin with `BEGIN
IMMEDIATE`, so that two writers queue for the lock instead of failing halfway.
PostgreSQL (asyncpg) is for several replicas sharing the work.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import Executable

from service.adapters.store.sqlite_group import (
    WRITE_OPTION,
    GroupCommitConnection,
    InlineConnection,
)
from service.errors import ConfigurationError
from service.logging import get_logger

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATING = threading.Lock()

_log = get_logger(__name__)


class Connection(Protocol):
    """What the repositories need of a connection inside a transaction."""

    @property
    def dialect(self) -> sa.Dialect:
        """The SQL dialect spoken."""
        ...

    async def execute(
        self, statement: Executable, parameters: Any = None
    ) -> CursorResult[Any]:
        """Run one statement; the result is buffered."""
        ...


async def plain_rows(
    conn: Connection, statement: Executable, parameters: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of a statement (SQL text, or a Core statement built once) as
    plain tuples, unconverted.

    For hot paths, such as a full sync reading a thousand rows a page, or an
    order's few statements: on SQLite the statement runs through the driver,
    where SQLAlchemy's per-execution work and result handling, row by row,
    cost several times SQLite's own. So columns come as the driver gives them
    (SQLite's timestamps as text, for `utc_datetime` to read). Parameters are
    plain values and timestamps.
    """
    if isinstance(conn, InlineConnection):
        return conn.plain_rows(statement, parameters)
    result = await conn.execute(statement, dict(parameters))
    return [tuple(row) for row in result] if result.returns_rows else []


async def plain_execute_many(
    conn: Connection,
    statement: Executable,
    parameters: Sequence[Mapping[str, Any]],
) -> None:
    """Run a write statement (as `plain_rows` takes) once per parameter set: on
    SQLite in one driver call, sparing SQLAlchemy's processing of every
    parameter set. The sets name the same parameters."""
    if not parameters:
        return
    if isinstance(conn, InlineConnection):
        conn.plain_execute_many(statement, parameters)
        return
    await conn.execute(statement, [dict(values) for values in parameters])


class Database:
    """An open database with a migrated schema."""

    def __init__(
        self, url: str, *, sqlite_synchronous: Literal["full", "normal"] = "full"
    ):
        self.url = url
        self._synchronous = {"full": "FULL", "normal": "NORMAL"}[sqlite_synchronous]
        self.is_sqlite = url.startswith("sqlite")
        self._engine: AsyncEngine | None = None
        self._sqlite: sa.Engine | None = None
        self._sqlite_conn: GroupCommitConnection | None = None
        self._serving: IO[str] | None = None

    @property
    def is_open(self) -> bool:
        """Whether the database is open and migrated."""
        return self._engine is not None or self._sqlite is not None

    async def open(self) -> None:
        """Migrate the schema to the newest version, then open the engine."""
        try:
            await asyncio.to_thread(migrate, self.url)
        except OSError as exc:
            msg = f"setting store.url: cannot open the database ({exc})"
            raise ConfigurationError(msg) from exc
        if self.is_sqlite:
            self._sqlite = _sqlite_engine(self.url, self._synchronous)
            # One connection for the life of the store: checking one out of
            # the pool and back per transaction cost more than the transaction.
            self._sqlite_conn = GroupCommitConnection(self._sqlite.connect())
        else:
            self._engine = create_async_engine(self.url, pool_size=10, max_overflow=10)
        _log.info("store.opened", backend="sqlite" if self.is_sqlite else "postgresql")

    def claim_serving(self) -> None:
        """Make this process the one that serves a SQLite store, until `close`.

        Its background work claims orders and products without row locks,
        and clears every claim when it starts: a second process on the same
        file would take over sends still in flight and post them twice.
        A ConfigurationError when another process serves the file already;
        nothing to do on PostgreSQL, where replicas share the work.
        """
        if not self.is_sqlite or self._serving is not None:
            return
        path = _sqlite_path(self.url)
        try:
            lock = open(path.with_name(path.name + ".serve-lock"), "a")  # noqa: SIM115
        except OSError as exc:
            msg = f"setting store.url: cannot open the database ({exc})"
            raise ConfigurationError(msg) from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            msg = (
                f"setting store.url: another connector process serves {path}; "
                "a SQLite store serves one process (several replicas share a "
                "PostgreSQL one)"
            )
            raise ConfigurationError(msg) from None
        self._serving = lock

    async def close(self) -> None:
        """Close every connection."""
        if self._serving is not None:
            serving, self._serving = self._serving, None
            serving.close()  # and with it the lock
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()
        if self._sqlite is not None:
            sqlite_engine, self._sqlite = self._sqlite, None
            if self._sqlite_conn is not None:
                await self._sqlite_conn.close()
            sqlite_engine.dispose()
        _log.info("store.closed")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A read-only transaction."""
        if self._sqlite_conn is not None and self._sqlite is not None:
            async with self._sqlite_conn.read() as conn:
                yield conn
            return
        async with self._transaction() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on error.

        On SQLite one transaction runs at a time in this process (they queue,
        and run inline), and writers that queue behind one another share one
        commit (see sqlite_group); writes begin with `BEGIN IMMEDIATE`, so that
        a writer in another process makes us wait, not fail halfway.
        """
        if self._sqlite_conn is not None and self._sqlite is not None:
            async with self._sqlite_conn.write() as conn:
                yield conn
            return
        async with self._transaction() as conn:
            yield conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        if self._engine is None:
            msg = "the database is not open"
            raise RuntimeError(msg)
        async with self._engine.connect() as async_conn, async_conn.begin():
            yield async_conn


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "connector.sqlite3")


def _sqlite_engine(url: str, synchronous: str) -> sa.Engine:
    path = make_url(url).database or "connector.sqlite3"
    engine = sa.create_engine(
        f"sqlite:///{path}",
        poolclass=StaticPool,
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    event.listen(engine, "connect", functools.partial(_sqlite_connect, synchronous))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(synchronous: str, dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, emit BEGIN, so writes can ask for IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit survives a power loss too (NORMAL only a crash of the
    # process); group commit shares the cost among concurrent writers.
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    # Straight to the driver: SQLAlchemy's statement path costs several times
    # what SQLite takes for the BEGIN itself, on every transaction.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")


def migrate(url: str, revision: str = "head") -> None:
    """Run the schema migrations up to `revision` (blocking; call from a thread).

    Processes that migrate the same SQLite file take turns through a lock file
    beside it; on PostgreSQL the migration environment takes an advisory lock.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["url"] = url
    # Alembic's migration context is process-global: one migration at a time.
    with _MIGRATING:
        if not url.startswith("sqlite"):
            command.upgrade(config, revision)
            return

        path = _sqlite_path(url)
        with open(path.with_name(path.name + ".migrate-lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            command.upgrade(config, revision)
