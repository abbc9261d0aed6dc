"""Shipment confirmations in the SQL store, in one transaction with their order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from service.adapters.store.database import Connection, Database
from service.adapters.store.orders import OrderTransaction, SqlOrderStore
from service.adapters.store.products import among_text, among_value
from service.adapters.store.shipment_tables import USABLE, shipments
from service.adapters.store.tables import orders
from service.domain.events import NewEvent
from service.domain.orders import OrderRecord, TimelineEntry
from service.domain.shipments import (
    ShipmentConfirmation,
    ShipmentOutcome,
    ShipmentResult,
)


@dataclass(frozen=True)
class StoredShipment:
    """One received confirmation as stored."""

    id: int
    account_id: str
    order_id: str
    shipment_no: str
    message_id: str | None
    outcome: ShipmentOutcome
    reason: str
    confirmation: ShipmentConfirmation | None
    result: ShipmentResult | None


@dataclass(frozen=True)
class NewShipment:
    """A confirmation about to be stored."""

    account_id: str
    order_id: str
    shipment_no: str
    message_id: str | None
    outcome: ShipmentOutcome
    reason: str
    confirmation: ShipmentConfirmation | None
    result: ShipmentResult | None
    received_at: datetime


class ShipmentTransaction:
    """One write transaction over shipments, their orders, timelines and events.

    `prefetch` reads what a batch of confirmations needs in three statements;
    afterwards the lookups answer from memory what the store held before, and
    still ask the store about anything this transaction wrote. Order records,
    timeline entries and events are written together by `flush`, which the
    store calls before the commit.
    """

    def __init__(self, conn: Connection, orders: OrderTransaction):
        self._conn = conn
        self.orders = orders
        self._sqlite = conn.dialect.name != "postgresql"
        self._account: str | None = None
        self._records: dict[str, OrderRecord] = {}
        self._locked: set[str] = set()
        self._stored_messages: set[str] = set()
        self._asked_messages: set[str] = set()
        self._stored_keys: set[tuple[str, str]] = set()
        self._written_orders: set[str] = set()
        self._written_messages: set[str] = set()
        self._pending: list[dict[str, object]] = []
        self._saves: dict[str, OrderRecord] = {}
        self._timelines: list[tuple[str, str, Sequence[TimelineEntry]]] = []
        self._events: list[NewEvent] = []

    async def prefetch(
        self, account_id: str, message_ids: Sequence[str], order_ids: Sequence[str]
    ) -> None:
        """Lock the orders of a batch and learn which of its messages and
        orders have stored confirmations, one statement each."""
        self._account = account_id
        self._records = await self.orders.lock_many(account_id, order_ids)
        self._locked = set(order_ids)
        self._asked_messages = set(message_ids)
        stored = await self._among(_STORED_MESSAGES, account_id, message_ids)
        self._stored_messages = {str(message_id) for (message_id,) in stored}
        keys = await self._among(_STORED_KEYS, account_id, order_ids)
        self._stored_keys = {(str(order), str(number)) for order, number in keys}

    async def order(self, account_id: str, order_id: str) -> OrderRecord | None:
        """The order, locked until the transaction ends."""
        if self._prefetched(account_id) and order_id in self._locked:
            return self._records.get(order_id)
        return await self.orders.lock(account_id, order_id)

    async def save_order(self, record: OrderRecord) -> None:
        """Insert or replace the order's record (at `flush`, when prefetched)."""
        order_id = record.order.order_id
        if self._prefetched(record.account_id) and order_id in self._locked:
            self._records[order_id] = record
            self._saves[order_id] = record
        else:
            await self.orders.save(record)

    def add_timeline(
        self, account_id: str, order_id: str, entries: Sequence[TimelineEntry]
    ) -> None:
        """Append timeline entries of an order at `flush`."""
        self._timelines.append((account_id, order_id, entries))

    def emit(self, new: Sequence[NewEvent]) -> None:
        """Record events at `flush`, in the order emitted."""
        self._events.extend(new)

    async def flush(self) -> None:
        """Write the shipments, order records, timeline entries and events held
        back."""
        await self._flush_shipments()
        await self.orders.save_many(list(self._saves.values()))
        await self.orders.add_timelines(self._timelines)
        await self.orders.emit(self._events)
        self._saves, self._timelines, self._events = {}, [], []

    async def by_message(
        self, account_id: str, message_id: str
    ) -> StoredShipment | None:
        """The confirmation collected from this Boltrics message, if stored."""
        if (
            self._prefetched(account_id)
            and message_id in self._asked_messages
            and message_id not in self._stored_messages
            and message_id not in self._written_messages
        ):
            return None
        await self._flush_shipments()
        return await self._one(
            shipments.c.account_id == account_id, shipments.c.message_id == message_id
        )

    async def by_key(
        self, account_id: str, order_id: str, shipment_no: str
    ) -> StoredShipment | None:
        """The usable confirmation of this order and shipment number, if stored."""
        if (
            self._prefetched(account_id)
            and order_id in self._locked
            and (order_id, shipment_no) not in self._stored_keys
            and order_id not in self._written_orders
        ):
            return None
        await self._flush_shipments()
        return await self._one(
            shipments.c.account_id == account_id,
            shipments.c.order_id == order_id,
            shipments.c.shipment_no == shipment_no,
            USABLE,
        )

    async def add(self, new: NewShipment) -> bool:
        """Store a confirmation; False when one with the same key is stored already.

        The insert does nothing on a conflict with either key, so that two
        replicas handling the same confirmation store it once. A confirmation
        of a prefetched order (locked, and known to have no such shipment) is
        inserted at `flush`, with the others of its batch.
        """
        row = _shipment_row(new)
        self._written_orders.add(new.order_id)
        if new.message_id is not None:
            self._written_messages.add(new.message_id)
        if self._prefetched(new.account_id) and new.order_id in self._records:
            self._pending.append(row)
            return True
        inserted = await self._conn.execute(
            _ADD_SQLITE if self._sqlite else _ADD_POSTGRESQL, row
        )
        return bool(inserted.rowcount)

    async def settle(
        self, shipment_id: int, result: ShipmentResult, updated_at: datetime
    ) -> None:
        """Mark a stored confirmation applied, with its result."""
        await self._conn.execute(
            shipments.update()
            .where(shipments.c.id == shipment_id)
            .values(
                outcome=ShipmentOutcome.APPLIED.value,
                reason="",
                result=result.model_dump_json(),
                updated_at=updated_at,
            )
        )

    async def _flush_shipments(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        inserted = await self._conn.execute(
            _ADD_MANY_SQLITE if self._sqlite else _ADD_MANY_POSTGRESQL, pending
        )
        if len(inserted.all()) != len(pending):
            # Cannot happen while the orders are locked: another writer would
            # have had to store a shipment of a locked order.
            msg = "a shipment of a locked order was stored by another writer"
            raise RuntimeError(msg)

    def _prefetched(self, account_id: str) -> bool:
        return self._account == account_id

    async def _among(
        self,
        query: tuple[sa.TextClause, sa.TextClause],
        account_id: str,
        values: Sequence[str],
    ) -> list[tuple[object, ...]]:
        if not values:
            return []
        rows = await self._conn.execute(
            query[0] if self._sqlite else query[1],
            {
                "account": account_id,
                "values": among_value(sorted(set(values)), self._sqlite),
            },
        )
        return [tuple(row) for row in rows]

    async def _one(self, *conditions: sa.ColumnElement[bool]) -> StoredShipment | None:
        row = (
            await self._conn.execute(sa.select(shipments).where(*conditions))
        ).first()
        return None if row is None else _stored(row)


def _among_text(template: str, column: str) -> tuple[sa.TextClause, sa.TextClause]:
    """`template` for SQLite and for PostgreSQL, `column` among `:values`."""
    on_sqlite, on_postgresql = among_text(column, "values")
    return (
        sa.text(template.format(among=on_sqlite)),
        sa.text(template.format(among=on_postgresql)),
    )


# Built once: building a statement and its cache key per call cost more than
# running it on SQLite.
_STORED_MESSAGES = _among_text(
    "SELECT message_id FROM shipments WHERE account_id = :account AND {among}",
    "message_id",
)
_STORED_KEYS = _among_text(
    "SELECT order_id, shipment_no FROM shipments WHERE account_id = :account "
    "AND outcome != 'rejected' AND {among}",  # USABLE, as the index has it
    "order_id",
)
_ADD_SQLITE = sqlite.insert(shipments).on_conflict_do_nothing()
_ADD_POSTGRESQL = postgresql.insert(shipments).on_conflict_do_nothing()
_ADD_MANY_SQLITE = _ADD_SQLITE.returning(shipments.c.id)
_ADD_MANY_POSTGRESQL = _ADD_POSTGRESQL.returning(shipments.c.id)


class SqlShipmentStore:
    """Shipment confirmations in the SQL store."""

    def __init__(self, database: Database, orders: SqlOrderStore):
        self._database = database
        self._orders = orders

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ShipmentTransaction]:
        """A write transaction; events it emitted wake readers after the commit."""
        async with self._database.write() as conn:
            order_txn = OrderTransaction(conn, self._orders)
            txn = ShipmentTransaction(conn, order_txn)
            yield txn
            await txn.flush()
        if order_txn.emitted:
            self._orders.events.signal.notify()

    async def results_of(self, account_id: str, order_id: str) -> list[ShipmentResult]:
        """The results of the order's applied shipments, oldest first."""
        query = (
            sa.select(shipments.c.result)
            .where(
                shipments.c.account_id == account_id,
                shipments.c.order_id == order_id,
                shipments.c.outcome == ShipmentOutcome.APPLIED.value,
                USABLE,
            )
            .order_by(shipments.c.id)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).scalars().all()
        return [ShipmentResult.model_validate_json(row) for row in rows]

    async def adoptable(self, *, limit: int = 500) -> list[StoredShipment]:
        """Confirmations stored for an unknown order whose order is known now."""
        known = sa.exists().where(
            orders.c.account_id == shipments.c.account_id,
            orders.c.order_id == shipments.c.order_id,
        )
        query = (
            sa.select(shipments)
            .where(shipments.c.outcome == ShipmentOutcome.UNKNOWN_ORDER.value, known)
            .order_by(shipments.c.id)
            .limit(limit)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_stored(row) for row in rows]

    async def get(self, shipment_id: int) -> StoredShipment | None:
        """One stored confirmation by its id."""
        query = sa.select(shipments).where(shipments.c.id == shipment_id)
        async with self._database.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _stored(row)


def _shipment_row(new: NewShipment) -> dict[str, object]:
    return {
        "account_id": new.account_id,
        "order_id": new.order_id,
        "shipment_no": new.shipment_no,
        "message_id": new.message_id,
        "outcome": new.outcome.value,
        "reason": new.reason,
        "confirmation": _json(new.confirmation),
        "result": _json(new.result),
        "received_at": new.received_at,
        "updated_at": new.received_at,
    }


def _json(model: ShipmentConfirmation | ShipmentResult | None) -> str | None:
    return None if model is None else model.model_dump_json()


def _stored(row: sa.Row[tuple[object, ...]]) -> StoredShipment:
    mapping = row._mapping
    confirmation = mapping["confirmation"]
    result = mapping["result"]
    return StoredShipment(
        id=int(mapping["id"]),
        account_id=str(mapping["account_id"]),
        order_id=str(mapping["order_id"]),
        shipment_no=str(mapping["shipment_no"]),
        message_id=mapping["message_id"],
        outcome=ShipmentOutcome(mapping["outcome"]),
        reason=str(mapping["reason"]),
        confirmation=None
        if confirmation is None
        else ShipmentConfirmation.model_validate_json(confirmation),
        result=None if result is None else ShipmentResult.model_validate_json(result),
    )
