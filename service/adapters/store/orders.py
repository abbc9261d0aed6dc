"""Orders in the SQL store: records, timelines, the send queue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from service.adapters.store.database import (
    Connection,
    Database,
    plain_execute_many,
    plain_rows,
)
from service.adapters.store.events import SqlEventLog
from service.adapters.store.product_tables import products
from service.adapters.store.products import among_text, among_value
from service.adapters.store.shipment_tables import USABLE, shipments
from service.adapters.store.tables import order_outbox, order_timeline, orders
from service.domain.events import NewEvent
from service.domain.orders import OrderRecord, OrderState, TimelineEntry, TimelineKind
from service.domain.shipments import ShipmentOutcome


@dataclass(frozen=True)
class ClaimedSend:
    """An order this process may send now, until `claimed_until`."""

    account_id: str
    order_id: str
    attempts: int
    first_attempt_at: datetime
    claimed_until: datetime


@dataclass(frozen=True)
class SentOrder:
    """An order Boltrics has taken and not decided on yet: what following up
    its verdict needs."""

    account_id: str
    order_id: str
    message_id: str


_LISTED = """
SELECT product_id, shop, external_no FROM product_listings
WHERE account_id = :account AND source_platform = :platform AND {among}
"""
_LISTED_SQLITE = sa.text(_LISTED.format(among=among_text("product_id", "ids")[0]))
_LISTED_POSTGRESQL = sa.text(_LISTED.format(among=among_text("product_id", "ids")[1]))


def _key(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.account_id == sa.bindparam("k_account"),
        table.c.order_id == sa.bindparam("k_order"),
    )


def _upsert(dialect: Any) -> Any:
    statement = dialect.insert(orders)
    return statement.on_conflict_do_update(
        index_elements=[orders.c.account_id, orders.c.order_id],
        set_={
            key: statement.excluded[key]
            for key in ("state", "record", "message_id", "updated_at")
        },
    )


# Built once: building a statement and its cache key per call cost more than
# running it on SQLite.
_SELECT_RECORD = sa.select(orders.c.record).where(_key(orders))
_LOCK_RECORD = _SELECT_RECORD.with_for_update()
_UPSERT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}
_DEQUEUE = order_outbox.delete().where(_key(order_outbox))
_WITHDRAW = (
    order_outbox.delete()
    .where(_key(order_outbox), order_outbox.c.attempts == 0)
    .returning(order_outbox.c.order_id)
)


def _enqueue(dialect: Any) -> Any:
    statement = dialect.insert(order_outbox)
    return statement.on_conflict_do_update(
        index_elements=[order_outbox.c.account_id, order_outbox.c.order_id],
        set_={
            "due_at": statement.excluded.due_at,
            "claimed_until": None,
            "attempts": statement.excluded.attempts,
            "first_attempt_at": None,
            "last_error": None,
        },
    )


_ENQUEUE = {"sqlite": _enqueue(sqlite), "postgresql": _enqueue(postgresql)}
_ADD_TIMELINE = order_timeline.insert()
_WAITING_SHIPMENT = (
    sa.select(shipments.c.id)
    .where(
        _key(shipments),
        USABLE,
        shipments.c.outcome == ShipmentOutcome.UNKNOWN_ORDER.value,
    )
    .limit(1)
)
_RESCHEDULE = (
    order_outbox.update()
    .where(_key(order_outbox))
    .values(
        due_at=sa.bindparam("v_due"),
        claimed_until=None,
        last_error=sa.bindparam("v_error"),
    )
)


_CLAIM_SQLITE = sa.text(
    """
UPDATE order_outbox
SET claimed_until = :until, attempts = attempts + 1,
first_attempt_at = COALESCE(first_attempt_at, :now)
WHERE rowid IN (
    SELECT rowid FROM order_outbox
    WHERE due_at <= :now AND (claimed_until IS NULL OR claimed_until < :now)
    ORDER BY due_at LIMIT :limit
)
RETURNING account_id, order_id, attempts, first_attempt_at
"""
)


_LOCK_MANY = """
SELECT order_id, record FROM orders WHERE account_id = :account AND {among}
ORDER BY order_id{lock}
"""
_AMONG_SQLITE, _AMONG_POSTGRESQL = among_text("order_id", "ids")
_LOCK_MANY_SQLITE = sa.text(_LOCK_MANY.format(among=_AMONG_SQLITE, lock=""))
_LOCK_MANY_POSTGRESQL = sa.text(
    _LOCK_MANY.format(among=_AMONG_POSTGRESQL, lock=" FOR UPDATE")
)


def _row(record: OrderRecord) -> dict[str, Any]:
    return {
        "account_id": record.account_id,
        "order_id": record.order.order_id,
        "state": record.state.value,
        "record": record.model_dump_json(),
        "message_id": record.message_id or None,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


_LOCK_IDS = sa.text(
    "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) "
    "FROM unnest(CAST(:keys AS text[])) AS key"
)


class OrderTransaction:
    """One write transaction over orders, their timelines, the queue and events."""

    def __init__(self, conn: Connection, store: SqlOrderStore):
        self._conn = conn
        self._store = store
        self.emitted = False

    async def lock(self, account_id: str, order_id: str) -> OrderRecord | None:
        """The order, locked until the transaction ends (on PostgreSQL its id
        too, whether the order exists or not: see `_lock_ids`)."""
        if not self._store.is_sqlite:
            await self._lock_ids(account_id, [order_id])
        query = _SELECT_RECORD if self._store.is_sqlite else _LOCK_RECORD
        key = {"k_account": account_id, "k_order": order_id}
        found = await plain_rows(self._conn, query, key)
        return OrderRecord.model_validate_json(found[0][0]) if found else None

    async def lock_many(
        self, account_id: str, order_ids: Sequence[str]
    ) -> dict[str, OrderRecord]:
        """The account's orders among `order_ids` that exist, locked until the
        transaction ends (in order id order, as every writer locks them)."""
        sqlite = self._store.is_sqlite
        wanted = sorted(set(order_ids))
        if not wanted:
            return {}
        if not sqlite:
            await self._lock_ids(account_id, wanted)
        rows = await self._conn.execute(
            _LOCK_MANY_SQLITE if sqlite else _LOCK_MANY_POSTGRESQL,
            {"account": account_id, "ids": among_value(wanted, sqlite)},
        )
        found = {}
        for row in rows:
            order_id, record = tuple(row)
            found[str(order_id)] = OrderRecord.model_validate_json(str(record))
        return found

    async def _lock_ids(self, account_id: str, order_ids: Sequence[str]) -> None:
        # A row that does not exist cannot be locked, so two transactions that
        # each find no such order (CreateOrder, and a shipment for an order not
        # known yet) could both go ahead and miss each other. An advisory lock
        # per order id, held until the commit, makes the second one wait for
        # the first. Taken in order id order, before the rows, everywhere.
        keys = [f"{account_id}\x1f{order_id}" for order_id in order_ids]
        await self._conn.execute(_LOCK_IDS, {"keys": keys})

    async def save(self, record: OrderRecord) -> None:
        """Insert or replace the order's record."""
        await self.save_many([record])

    async def save_many(self, records: Sequence[OrderRecord]) -> None:
        """Insert or replace the records, in one statement."""
        if records:
            await plain_execute_many(
                self._conn,
                _UPSERT[self._store.dialect],
                [_row(record) for record in records],
            )

    async def add_timeline(
        self, account_id: str, order_id: str, entries: Sequence[TimelineEntry]
    ) -> None:
        """Append timeline entries of an order."""
        await self.add_timelines([(account_id, order_id, entries)])

    async def add_timelines(
        self, timelines: Sequence[tuple[str, str, Sequence[TimelineEntry]]]
    ) -> None:
        """Append the timeline entries of several orders, in one statement."""
        rows = [
            {
                "account_id": account_id,
                "order_id": order_id,
                "time": entry.time,
                "kind": entry.kind.value,
                "message": entry.message,
            }
            for account_id, order_id, entries in timelines
            for entry in entries
        ]
        await plain_execute_many(self._conn, _ADD_TIMELINE, rows)

    async def enqueue(
        self,
        account_id: str,
        order_id: str,
        due_at: datetime,
        *,
        maybe_posted: bool = False,
    ) -> None:
        """Queue the order for sending (again), with fresh retry bookkeeping.

        `maybe_posted`: an earlier post under the same reference may have
        reached Boltrics, so the next attempt looks it up before posting.
        """
        values = {
            "account_id": account_id,
            "order_id": order_id,
            "due_at": due_at,
            "attempts": 1 if maybe_posted else 0,
        }
        await plain_rows(self._conn, _ENQUEUE[self._store.dialect], values)

    async def dequeue(self, account_id: str, order_id: str) -> None:
        """Take the order off the send queue."""
        key = {"k_account": account_id, "k_order": order_id}
        await plain_rows(self._conn, _DEQUEUE, key)

    async def withdraw_unattempted(self, account_id: str, order_id: str) -> bool:
        """Take the order off the send queue if no attempt was ever made to
        send it (none claimed it: a claim counts its attempt first, so an
        order being posted right now is never withdrawn); whether it was."""
        key = {"k_account": account_id, "k_order": order_id}
        return bool(await plain_rows(self._conn, _WITHDRAW, key))

    async def reschedule(
        self, account_id: str, order_id: str, due_at: datetime, error: str
    ) -> None:
        """Release the claim and try again at `due_at`."""
        params = {
            "k_account": account_id,
            "k_order": order_id,
            "v_due": due_at,
            "v_error": error,
        }
        await plain_rows(self._conn, _RESCHEDULE, params)

    async def lock_waiting(self, account_id: str) -> None:
        """Take the account's lock on orders waiting for products, until the
        transaction ends (PostgreSQL; SQLite's writers are serialized anyway).

        A verdict that fails an order for a missing product takes it before
        asking whether the product exists; the hook that sends waiting orders
        again takes it before listing them. So one of the two sees the other:
        the verdict sees the product, or the hook sees the failed order.
        """
        if not self._store.is_sqlite:
            # \x1e: no order id holds it (see `_lock_ids` for the order keys).
            key = f"{account_id}\x1ewaiting-for-products"
            await self._conn.execute(_LOCK_IDS, {"keys": [key]})

    async def in_boltrics(
        self, account_id: str, external_nos: Iterable[str]
    ) -> set[str]:
        """Those of `external_nos` that are products Boltrics has."""
        wanted = sorted(set(external_nos))
        if not wanted:
            return set()
        found = await self._conn.execute(
            sa.select(products.c.external_no).where(
                products.c.account_id == account_id,
                products.c.external_no.in_(wanted),
                products.c.in_boltrics.is_(True),
            )
        )
        return set(found.scalars())

    async def shipment_waiting(self, account_id: str, order_id: str) -> bool:
        """Whether a shipment of this order came before the order and waits."""
        key = {"k_account": account_id, "k_order": order_id}
        return bool(await plain_rows(self._conn, _WAITING_SHIPMENT, key))

    async def listed_items(
        self, account_id: str, source_platform: str, shop: str, product_ids: set[str]
    ) -> dict[str, str]:
        """The ExternalNo of each product id's listing in this channel: the
        shop's own listing, else the one ExternalNo of the channel's listings
        of that product id (none when they disagree)."""
        if not product_ids:
            return {}
        sqlite = self._store.is_sqlite
        keys = {
            "account": account_id,
            "platform": source_platform,
            "ids": among_value(sorted(product_ids), sqlite),
        }
        rows = await plain_rows(
            self._conn, _LISTED_SQLITE if sqlite else _LISTED_POSTGRESQL, keys
        )
        own: dict[str, str] = {}
        others: dict[str, set[str]] = {}
        for product_id, listing_shop, external_no in rows:
            if listing_shop == shop:
                own[product_id] = external_no
            others.setdefault(product_id, set()).add(external_no)
        for product_id, found in others.items():
            if product_id not in own and len(found) == 1:
                own[product_id] = next(iter(found))
        return own

    async def emit(self, new: Sequence[NewEvent]) -> None:
        """Record events; readers are woken when the transaction commits."""
        await self._store.events.append(self._conn, new)
        self.emitted = self.emitted or bool(new)


class SqlOrderStore:
    """Orders in the SQL store."""

    def __init__(self, database: Database, events: SqlEventLog):
        self._database = database
        self.events = events

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is SQLite (no row locks; writers are serialized)."""
        return self._database.is_sqlite

    @property
    def dialect(self) -> str:
        """The name of the SQL dialect spoken: sqlite or postgresql."""
        return "sqlite" if self._database.is_sqlite else "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[OrderTransaction]:
        """A write transaction; events it emitted wake readers after the commit."""
        async with self._database.write() as conn:
            txn = OrderTransaction(conn, self)
            yield txn
        if txn.emitted:
            self.events.signal.notify()

    async def pass_waiting_lock(self, account_id: str) -> None:
        """Wait for whoever holds the account's lock on waiting orders (see
        `OrderTransaction.lock_waiting`) to commit."""
        if self.is_sqlite:
            return
        async with self.transaction() as txn:
            await txn.lock_waiting(account_id)

    async def get(self, account_id: str, order_id: str) -> OrderRecord | None:
        """The order's record, if the account has it."""
        key = {"k_account": account_id, "k_order": order_id}
        async with self._database.read() as conn:
            found = await plain_rows(conn, _SELECT_RECORD, key)
        return OrderRecord.model_validate_json(found[0][0]) if found else None

    async def timeline(self, account_id: str, order_id: str) -> list[TimelineEntry]:
        """The order's timeline, oldest first."""
        query = (
            sa.select(
                order_timeline.c.time, order_timeline.c.kind, order_timeline.c.message
            )
            .where(
                order_timeline.c.account_id == account_id,
                order_timeline.c.order_id == order_id,
            )
            .order_by(order_timeline.c.id)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            TimelineEntry(
                time=row.time, kind=TimelineKind(row.kind), message=row.message
            )
            for row in rows
        ]

    async def page(
        self,
        account_id: str,
        *,
        limit: int,
        before: tuple[datetime, str] | None,
        state: OrderState | None,
    ) -> list[OrderRecord]:
        """A page of the account's orders, newest first, before a position."""
        query = sa.select(orders.c.record).where(orders.c.account_id == account_id)
        if state is not None:
            query = query.where(orders.c.state == state.value)
        if before is not None:
            created, order_id = before
            query = query.where(
                sa.or_(
                    orders.c.created_at < created,
                    sa.and_(
                        orders.c.created_at == created, orders.c.order_id < order_id
                    ),
                )
            )
        query = query.order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
        async with self._database.read() as conn:
            rows = (await conn.execute(query.limit(limit))).scalars().all()
        return [OrderRecord.model_validate_json(row) for row in rows]

    async def in_state(
        self, state: OrderState, *, limit: int = 10_000
    ) -> list[OrderRecord]:
        """Orders of every account in a state (for the verdict follower)."""
        query = (
            sa.select(orders.c.record).where(orders.c.state == state.value).limit(limit)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).scalars().all()
        return [OrderRecord.model_validate_json(row) for row in rows]

    async def sent(self, *, limit: int = 10_000) -> list[SentOrder]:
        """Orders of every account in state SENT, without reading their records
        (for the verdict follower, every round)."""
        query = (
            sa.select(orders.c.account_id, orders.c.order_id, orders.c.message_id)
            .where(orders.c.state == OrderState.SENT.value)
            .limit(limit)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            SentOrder(row.account_id, row.order_id, row.message_id or "")
            for row in rows
        ]

    async def each_in_state(
        self, account_id: str, state: OrderState, *, page: int = 500
    ) -> AsyncIterator[OrderRecord]:
        """Every order of one account in a state, by order id, a page at a time
        (through the account-and-state index; no cap on how many)."""
        after = ""
        while True:
            query = (
                sa.select(orders.c.order_id, orders.c.record)
                .where(
                    orders.c.account_id == account_id,
                    orders.c.state == state.value,
                    orders.c.order_id > after,
                )
                .order_by(orders.c.order_id)
                .limit(page)
            )
            async with self._database.read() as conn:
                rows = (await conn.execute(query)).all()
            for row in rows:
                yield OrderRecord.model_validate_json(row.record)
            if len(rows) < page:
                return
            after = rows[-1].order_id

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> list[ClaimedSend]:
        """Claim up to `limit` due sends for this process, for `lease`.

        On PostgreSQL the rows are picked with `FOR UPDATE SKIP LOCKED`, so that
        replicas never claim the same order; on SQLite (one process) picked and
        claimed in one statement, built once.
        """
        until = now + lease
        if self.is_sqlite:
            async with self._database.write() as conn:
                found = await plain_rows(
                    conn, _CLAIM_SQLITE, {"now": now, "until": until, "limit": limit}
                )
            return [
                ClaimedSend(
                    account_id=account_id,
                    order_id=order_id,
                    attempts=int(attempts),
                    first_attempt_at=_aware(first_attempt_at),
                    claimed_until=until,
                )
                for account_id, order_id, attempts, first_attempt_at in found
            ]

        due = (
            sa.select(order_outbox.c.account_id, order_outbox.c.order_id)
            .where(
                order_outbox.c.due_at <= now,
                sa.or_(
                    order_outbox.c.claimed_until.is_(None),
                    order_outbox.c.claimed_until < now,
                ),
            )
            .order_by(order_outbox.c.due_at)
            .limit(limit)
        )
        due = due.with_for_update(skip_locked=True)

        async with self._database.write() as conn:
            keys = (await conn.execute(due)).all()
            if not keys:
                return []
            claimed = await conn.execute(
                order_outbox.update()
                .where(
                    sa.tuple_(order_outbox.c.account_id, order_outbox.c.order_id).in_(
                        [tuple(key) for key in keys]
                    )
                )
                .values(
                    claimed_until=until,
                    attempts=order_outbox.c.attempts + 1,
                    first_attempt_at=sa.func.coalesce(
                        order_outbox.c.first_attempt_at, now
                    ),
                )
                .returning(
                    order_outbox.c.account_id,
                    order_outbox.c.order_id,
                    order_outbox.c.attempts,
                    order_outbox.c.first_attempt_at,
                )
            )
            rows = claimed.all()
        return [
            ClaimedSend(
                account_id=row.account_id,
                order_id=row.order_id,
                attempts=row.attempts,
                first_attempt_at=_aware(row.first_attempt_at),
                claimed_until=until,
            )
            for row in rows
        ]

    async def release_all_claims(self) -> None:
        """Forget every claim: only safe when this process is the only sender."""
        async with self._database.write() as conn:
            await conn.execute(order_outbox.update().values(claimed_until=None))

    async def queue_depth(self) -> int:
        """How many orders wait to be sent."""
        async with self._database.read() as conn:
            value = (
                await conn.execute(sa.select(sa.func.count()).select_from(order_outbox))
            ).scalar()
        return int(value or 0)

    async def next_due(self) -> datetime | None:
        """When the earliest queued send is due."""
        async with self._database.read() as conn:
            value = (
                await conn.execute(sa.select(sa.func.min(order_outbox.c.due_at)))
            ).scalar()
        return None if value is None else _aware(value)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back RETURNING values as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
