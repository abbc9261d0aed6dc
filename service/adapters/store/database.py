"""The database: engine, transactions and migrations, for SQLite and PostgreSQL.

SQLite (the default) needs no set-up: the file is created and migrated at
start. It runs in WAL mode, and write transactions begin with `BEGIN
IMMEDIATE`, so that two writers queue for the lock instead of failing halfway.
PostgreSQL is for several replicas sharing the work.
"""

from __future__ import annotations

import asyncio
import fcntl
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.errors import ConfigurationError
from service.logging import get_logger

_MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "connector_write"
_MIGRATING = threading.Lock()

_log = get_logger(__name__)


class Database:
    """An open database with a migrated schema."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._engine: AsyncEngine | None = None

    @property
    def is_open(self) -> bool:
        """Whether the database is open and migrated."""
        return self._engine is not None

    @property
    def engine(self) -> AsyncEngine:
        """The engine; only while open."""
        if self._engine is None:
            msg = "the database is not open"
            raise RuntimeError(msg)
        return self._engine

    async def open(self) -> None:
        """Migrate the schema to the newest version, then open the engine."""
        try:
            await asyncio.to_thread(migrate, self.url)
        except OSError as exc:
            msg = f"setting store.url: cannot open the database ({exc})"
            raise ConfigurationError(msg) from exc
        self._engine = self._create_engine()
        _log.info("store.opened", backend="sqlite" if self.is_sqlite else "postgresql")

    async def close(self) -> None:
        """Close every connection."""
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()
            _log.info("store.closed")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn

    def _create_engine(self) -> AsyncEngine:
        if not self.is_sqlite:
            return create_async_engine(self.url, pool_size=10, max_overflow=10)

        engine = create_async_engine(self.url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, emit BEGIN, so writes can ask for IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


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

        path = Path(make_url(url).database or "connector.sqlite3")
        with open(path.with_name(path.name + ".migrate-lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            command.upgrade(config, revision)
