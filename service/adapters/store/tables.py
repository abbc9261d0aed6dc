"""The tables, as SQLAlchemy Core sees them (the migrations own the DDL)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as UTC and read back aware, on SQLite as on PostgreSQL.

    On SQLite it is text in SQLAlchemy's own format ("2026-12-04
    08:30:57.574761", microseconds always written, so that text order is time
    order), written and read by `datetime`'s C methods: SQLAlchemy's generic
    SQLite conversion costs several times as much, on every timestamp.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "sqlite":
            return sqlite_text
        return _utc

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":
            return utc_datetime
        return _aware_utc


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


# Cached: a full sync or a page of holds writes and reads the same few
# timestamps thousands of times over.
@functools.lru_cache(maxsize=1024)
def sqlite_text(value: datetime | None) -> str | None:
    """A timestamp as `UtcDateTime` stores it on SQLite."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@functools.lru_cache(maxsize=1024)
def utc_datetime(value: str | datetime | None) -> datetime | None:
    """A timestamp as `UtcDateTime` reads it back, from SQLite's text or a
    driver's datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _aware_utc(value)


metadata = sa.MetaData()

request_keys = sa.Table(
    "request_keys",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("method", sa.String(64), nullable=False),
    sa.Column("request_digest", sa.String(64), nullable=False),
    sa.Column("response", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

_BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("message_id", sa.String(64)),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

order_timeline = sa.Table(
    "order_timeline",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(128), nullable=False),
    sa.Column("time", UtcDateTime(), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

order_outbox = sa.Table(
    "order_outbox",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(128), primary_key=True),
    sa.Column("due_at", UtcDateTime(), nullable=False),
    sa.Column("claimed_until", UtcDateTime()),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_attempt_at", UtcDateTime()),
    sa.Column("last_error", sa.Text),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("time", UtcDateTime(), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)

#: The newest event id removed by retention, under the name `events` (no row
#: before the first removal). A cursor before it may have missed events.
event_retention = sa.Table(
    "event_retention",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("pruned_through", sa.BigInteger, nullable=False),
)
