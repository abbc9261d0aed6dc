"""Products in the SQL store: identities, listings, barcodes and the send queue.

Every write transaction over one account's products takes the account's lock
first: on PostgreSQL a transaction-scoped advisory lock, on SQLite the write
lock of `BEGIN IMMEDIATE`. Identity decisions read and write inside that lock,
so two calls for one account never both create the same ExternalNo.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from service.adapters.store.database import Connection, Database, plain_rows
from service.adapters.store.events import SqlEventLog
from service.adapters.store.product_tables import (
    product_barcodes,
    product_batches,
    product_listings,
    product_outbox,
    products,
)
from service.domain.events import EventType, NewEvent
from service.domain.products import (
    CatalogueChanges,
    ChannelProduct,
    Listing,
    ProductCatalogue,
    ProductInfo,
    ProductRecord,
    ProductState,
    ProductView,
    SendAction,
    choose_external_no,
)

_PRODUCT_LOCK = 0x50524F44  # "PROD"
_CHUNK = 500  # values per IN (...) list: far below every driver's limit

_T = TypeVar("_T")


class BatchState:
    """Where a `materialmasterdata` message is (the `product_batches.state`)."""

    QUEUED = "queued"
    SENT = "sent"
    HOOK = "hook"  # created in Boltrics; the on-created hook has yet to run
    DONE = "done"


@dataclass(frozen=True)
class BatchItem:
    """One product as a message carries it."""

    external_no: str
    description: str
    weight_kg: float
    barcode: str


@dataclass(frozen=True)
class Batch:
    """One `materialmasterdata` message: its items, and its claim when claimed."""

    batch_id: str
    account_id: str
    action: SendAction
    reference: str
    items: tuple[BatchItem, ...]
    attempts: int = 0
    message_id: str = ""

    @property
    def external_nos(self) -> set[str]:
        """The ExternalNos it carries."""
        return {item.external_no for item in self.items}


@dataclass(frozen=True)
class WaitingGroup:
    """Products of one account waiting to be sent with one action."""

    account_id: str
    action: SendAction
    count: int
    oldest: datetime


def chunks(values: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    """`values` in slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class ProductTransaction:
    """One write transaction over one account's products, with its lock held."""

    def __init__(self, conn: Connection, store: SqlProductStore, account_id: str):
        self._conn = conn
        self._store = store
        self.account_id = account_id
        self.emitted = False

    async def load_catalogue(
        self, products: Sequence[ChannelProduct], *, link_by_barcode: bool
    ) -> ProductCatalogue:
        """The identities these products may touch: their listings, the records
        of their candidate ExternalNos and of every product sharing a barcode."""
        listings = await self._listings_of_products({p.product_id for p in products})
        barcodes = await self._barcode_owners({b for p in products for b in p.barcodes})
        wanted = set(listings.values())
        wanted |= {no for p in products if (no := choose_external_no(p)) is not None}
        wanted |= {no for owners in barcodes.values() for no in owners}
        records = await self.records(wanted)
        return ProductCatalogue(
            account_id=self.account_id,
            link_by_barcode=link_by_barcode,
            listings=listings,
            records=records,
            barcodes=barcodes,
        )

    async def write(self, changes: CatalogueChanges, now: datetime) -> None:
        """Write what a catalogue changed: records, barcodes, listings, sends."""
        await self._save_records(list(changes.records.values()))
        await self._save_barcodes(list(changes.records.values()))
        if changes.listings:
            await self._conn.execute(
                product_listings.insert(),
                [
                    {
                        "account_id": self.account_id,
                        "product_id": listing.product_id,
                        "source_platform": listing.source_platform,
                        "shop": listing.shop,
                        "external_no": external_no,
                    }
                    for listing, external_no in changes.listings.items()
                ],
            )
        await self._enqueue(changes.sends, now)

    async def records(self, external_nos: Iterable[str]) -> dict[str, ProductRecord]:
        """The account's records with these ExternalNos."""
        found: dict[str, ProductRecord] = {}
        for part in chunks(sorted(external_nos)):
            rows = await self._conn.execute(
                sa.select(products).where(
                    products.c.account_id == self.account_id,
                    among(products.c.external_no, part, self._store.is_sqlite),
                )
            )
            for row in rows:
                found[row.external_no] = record_of(row)
        return found

    async def views(self, external_nos: Iterable[str]) -> list[ProductView]:
        """The views of these products, with their listings."""
        wanted = sorted(external_nos)
        records = await self.records(wanted)
        listings = await listings_of(self._conn, self.account_id, wanted)
        return [
            ProductView.of(records[no], listings.get(no, []))
            for no in wanted
            if no in records
        ]

    async def emit(self, new: Sequence[NewEvent]) -> None:
        """Record events; readers are woken when the transaction commits."""
        await self._store.events.append(self._conn, new)
        self.emitted = self.emitted or bool(new)

    async def form_batch(
        self, action: SendAction, limit: int, now: datetime, batch_id: str
    ) -> Batch | None:
        """Put up to `limit` waiting products with `action` into a new message."""
        waiting = (
            sa.select(product_outbox.c.external_no)
            .where(
                product_outbox.c.account_id == self.account_id,
                product_outbox.c.action == action.value,
                product_outbox.c.batch_id.is_(None),
            )
            .order_by(product_outbox.c.queued_at, product_outbox.c.external_no)
            .limit(limit)
        )
        external_nos = list((await self._conn.execute(waiting)).scalars())
        if not external_nos:
            return None

        records = await self.records(external_nos)
        batch = Batch(
            batch_id=batch_id,
            account_id=self.account_id,
            action=action,
            reference=f"products~{batch_id}",
            items=tuple(_item(records[no]) for no in external_nos if no in records),
        )
        await self._conn.execute(
            product_batches.insert().values(
                batch_id=batch.batch_id,
                account_id=self.account_id,
                action=action.value,
                reference=batch.reference,
                items=json.dumps([item.__dict__ for item in batch.items]),
                state=BatchState.QUEUED,
                due_at=now,
                attempts=0,
                created_at=now,
            )
        )
        for part in chunks(external_nos):
            await self._conn.execute(
                product_outbox.update()
                .where(
                    product_outbox.c.account_id == self.account_id,
                    among(product_outbox.c.external_no, part, self._store.is_sqlite),
                )
                .values(batch_id=batch_id)
            )
        return batch

    async def lock_batch(self, batch_id: str) -> tuple[str, SendAction] | None:
        """The state and action of a message, locked until the transaction ends."""
        query = sa.select(product_batches.c.state, product_batches.c.action).where(
            product_batches.c.batch_id == batch_id
        )
        if not self._store.is_sqlite:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return None if row is None else (row.state, SendAction(row.action))

    async def batch_members(self, batch_id: str) -> tuple[list[str], list[str]]:
        """The ExternalNos a message carries: unchanged since, and changed again."""
        rows = await self._conn.execute(
            sa.select(product_outbox.c.external_no, product_outbox.c.again).where(
                product_outbox.c.batch_id == batch_id
            )
        )
        settled: list[str] = []
        changed: list[str] = []
        for row in rows:
            (changed if row.again else settled).append(row.external_no)
        return settled, changed

    async def mark_sent(self, batch_id: str, message_id: str) -> None:
        """Boltrics took the message: its unchanged products are SENT."""
        await self._conn.execute(
            product_batches.update()
            .where(product_batches.c.batch_id == batch_id)
            .values(state=BatchState.SENT, message_id=message_id, claimed_until=None)
        )
        settled, _ = await self.batch_members(batch_id)
        await self.set_states(settled, state=ProductState.SENT)

    async def set_states(self, external_nos: Sequence[str], **values: Any) -> None:
        """Change state columns (`state`, `in_boltrics`, `last_error`) of products."""
        columns = {
            key: value.value if isinstance(value, ProductState) else value
            for key, value in values.items()
        }
        for part in chunks(list(external_nos)):
            await self._conn.execute(
                products.update()
                .where(
                    products.c.account_id == self.account_id,
                    among(products.c.external_no, part, self._store.is_sqlite),
                )
                .values(**columns)
            )

    async def send_as_insert(self, external_nos: Sequence[str]) -> None:
        """Make the queued sends of these products INSERTs."""
        for part in chunks(list(external_nos)):
            await self._conn.execute(
                product_outbox.update()
                .where(
                    product_outbox.c.account_id == self.account_id,
                    among(product_outbox.c.external_no, part, self._store.is_sqlite),
                    product_outbox.c.batch_id.is_(None),
                )
                .values(action=SendAction.INSERT.value)
            )

    async def send_again(self, batch_id: str, external_nos: Sequence[str]) -> None:
        """Mark members of a message to go out again in a later message, as if
        changed since (`settle_batch` then puts them back in the queue)."""
        for part in chunks(list(external_nos)):
            await self._conn.execute(
                product_outbox.update()
                .where(
                    product_outbox.c.batch_id == batch_id,
                    among(product_outbox.c.external_no, part, self._store.is_sqlite),
                )
                .values(again=True)
            )

    async def settle_batch(
        self, batch_id: str, *, state: str, created: bool, error: str = ""
    ) -> None:
        """Close a message: unchanged products leave the queue, changed ones wait
        for their next message (as an UPDATE once the product exists)."""
        await self._conn.execute(
            product_outbox.delete().where(
                product_outbox.c.batch_id == batch_id,
                product_outbox.c.again.is_(False),
            )
        )
        requeue: dict[str, Any] = {"batch_id": None, "again": False}
        if created:
            requeue["action"] = SendAction.UPDATE.value
        await self._conn.execute(
            product_outbox.update()
            .where(product_outbox.c.batch_id == batch_id)
            .values(**requeue)
        )
        await self._conn.execute(
            product_batches.update()
            .where(product_batches.c.batch_id == batch_id)
            .values(state=state, last_error=error or None, claimed_until=None)
        )

    async def _listings_of_products(self, product_ids: set[str]) -> dict[Listing, str]:
        found: dict[Listing, str] = {}
        for part in chunks(sorted(product_ids)):
            rows = await self._conn.execute(
                sa.select(product_listings).where(
                    product_listings.c.account_id == self.account_id,
                    among(product_listings.c.product_id, part, self._store.is_sqlite),
                )
            )
            for row in rows:
                found[_listing(row)] = row.external_no
        return found

    async def _barcode_owners(self, barcodes: set[str]) -> dict[str, set[str]]:
        owners: dict[str, set[str]] = defaultdict(set)
        for part in chunks(sorted(barcodes)):
            rows = await self._conn.execute(
                sa.select(product_barcodes).where(
                    product_barcodes.c.account_id == self.account_id,
                    among(product_barcodes.c.barcode, part, self._store.is_sqlite),
                )
            )
            for row in rows:
                owners[row.barcode].add(row.external_no)
        return dict(owners)

    async def _save_records(self, records: list[ProductRecord]) -> None:
        if not records:
            return
        dialect = sqlite if self._store.is_sqlite else postgresql
        statement = dialect.insert(products)
        statement = statement.on_conflict_do_update(
            index_elements=[products.c.account_id, products.c.external_no],
            set_={
                key: statement.excluded[key]
                for key in ("state", "in_boltrics", "last_error", "info", "updated_at")
            },
        )
        await self._conn.execute(statement, [_row(record) for record in records])

    async def _save_barcodes(self, records: list[ProductRecord]) -> None:
        for part in chunks([record.external_no for record in records]):
            await self._conn.execute(
                product_barcodes.delete().where(
                    product_barcodes.c.account_id == self.account_id,
                    among(product_barcodes.c.external_no, part, self._store.is_sqlite),
                )
            )
        rows = [
            {"account_id": self.account_id, "barcode": barcode, "external_no": no}
            for record in records
            for no in (record.external_no,)
            for barcode in dict.fromkeys(record.info.barcodes)
        ]
        if rows:
            await self._conn.execute(product_barcodes.insert(), rows)

    async def _enqueue(self, sends: dict[str, SendAction], now: datetime) -> None:
        if not sends:
            return
        dialect = sqlite if self._store.is_sqlite else postgresql
        statement = dialect.insert(product_outbox)
        # A product already in a message in flight is marked to go again; one
        # still waiting keeps its place in the queue.
        statement = statement.on_conflict_do_update(
            index_elements=[product_outbox.c.account_id, product_outbox.c.external_no],
            set_={
                "action": statement.excluded.action,
                "again": product_outbox.c.batch_id.is_not(None),
            },
        )
        await self._conn.execute(
            statement,
            [
                {
                    "account_id": self.account_id,
                    "external_no": no,
                    "action": action.value,
                    "queued_at": now,
                    "batch_id": None,
                    "again": False,
                }
                for no, action in sends.items()
            ],
        )


class SqlProductStore:
    """Products in the SQL store."""

    def __init__(self, database: Database, events: SqlEventLog):
        self._database = database
        self.events = events

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is SQLite (no row locks; writers are serialized)."""
        return self._database.is_sqlite

    @asynccontextmanager
    async def transaction(self, account_id: str) -> AsyncIterator[ProductTransaction]:
        """A write transaction over one account's products, holding its lock."""
        async with self._database.write() as conn:
            if not self.is_sqlite:
                await conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(:account))"),
                    {"key": _PRODUCT_LOCK, "account": account_id},
                )
                # Plans made for the actual key lists: a generic plan of
                # `= ANY($1)` compares every row with every key.
                await conn.execute(
                    sa.text("SET LOCAL plan_cache_mode = force_custom_plan")
                )
            txn = ProductTransaction(conn, self, account_id)
            yield txn
        if txn.emitted:
            self.events.signal.notify()

    async def view(
        self, account_id: str, *, external_no: str | None, product_id: str | None
    ) -> ProductView | None:
        """A product by ExternalNo or by a Buckles product id of one of its listings."""
        async with self._database.read() as conn:
            if external_no is None:
                external_no = (
                    await conn.execute(
                        sa.select(product_listings.c.external_no)
                        .where(
                            product_listings.c.account_id == account_id,
                            product_listings.c.product_id == product_id,
                        )
                        .limit(1)
                    )
                ).scalar()
            if external_no is None:
                return None
            row = (
                await conn.execute(
                    sa.select(products).where(
                        products.c.account_id == account_id,
                        products.c.external_no == external_no,
                    )
                )
            ).first()
            if row is None:
                return None
            listings = await listings_of(conn, account_id, [external_no])
        return ProductView.of(record_of(row), listings.get(external_no, []))

    async def waiting(self) -> list[WaitingGroup]:
        """Products waiting for a message, grouped by account and action."""
        query = (
            sa.select(
                product_outbox.c.account_id,
                product_outbox.c.action,
                sa.func.count().label("waiting"),
                sa.func.min(product_outbox.c.queued_at).label("oldest"),
            )
            .where(product_outbox.c.batch_id.is_(None))
            .group_by(product_outbox.c.account_id, product_outbox.c.action)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            WaitingGroup(
                row.account_id, SendAction(row.action), row.waiting, _aware(row.oldest)
            )
            for row in rows
        ]

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> list[Batch]:
        """Claim up to `limit` messages due for posting, for `lease`; each claim
        counts an attempt, committed before anything is posted.

        On PostgreSQL the rows are picked with `FOR UPDATE SKIP LOCKED`, so that
        replicas never claim the same message.
        """
        due = (
            sa.select(product_batches.c.batch_id)
            .where(
                product_batches.c.state == BatchState.QUEUED,
                product_batches.c.due_at <= now,
                sa.or_(
                    product_batches.c.claimed_until.is_(None),
                    product_batches.c.claimed_until < now,
                ),
            )
            .order_by(product_batches.c.due_at)
            .limit(limit)
        )
        if not self.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        async with self._database.write() as conn:
            ids = list((await conn.execute(due)).scalars())
            if not ids:
                return []
            await conn.execute(
                product_batches.update()
                .where(product_batches.c.batch_id.in_(ids))
                .values(
                    claimed_until=now + lease, attempts=product_batches.c.attempts + 1
                )
            )
            rows = await conn.execute(
                sa.select(product_batches).where(product_batches.c.batch_id.in_(ids))
            )
            return [_batch(row) for row in rows]

    async def batches_in(self, state: str) -> list[Batch]:
        """Messages in a state, oldest first."""
        query = (
            sa.select(product_batches)
            .where(product_batches.c.state == state)
            .order_by(product_batches.c.created_at)
        )
        async with self._database.read() as conn:
            return [_batch(row) for row in await conn.execute(query)]

    async def reschedule(self, batch_id: str, due_at: datetime, error: str) -> None:
        """Release a message's claim and try again at `due_at`."""
        async with self._database.write() as conn:
            await conn.execute(
                product_batches.update()
                .where(product_batches.c.batch_id == batch_id)
                .values(due_at=due_at, claimed_until=None, last_error=error)
            )

    async def finish_hook(self, batch_id: str) -> None:
        """The on-created hook of a message has run."""
        async with self._database.write() as conn:
            await conn.execute(
                product_batches.update()
                .where(
                    product_batches.c.batch_id == batch_id,
                    product_batches.c.state == BatchState.HOOK,
                )
                .values(state=BatchState.DONE)
            )

    async def release_all_claims(self) -> None:
        """Forget every claim: only safe when this process is the only sender."""
        async with self._database.write() as conn:
            await conn.execute(product_batches.update().values(claimed_until=None))

    async def queue_depth(self) -> int:
        """How many products wait to be sent or for Boltrics' verdict."""
        async with self._database.read() as conn:
            value = (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(product_outbox)
                )
            ).scalar()
        return int(value or 0)


async def listings_of(
    conn: Connection, account_id: str, external_nos: Sequence[str]
) -> dict[str, list[Listing]]:
    """The listings linked to each ExternalNo, in a stable order."""
    # One statement text for any number of ExternalNos, run as it is: a sync
    # asks for a page's worth at a time, and building the statement cost more
    # than running it.
    sqlite = conn.dialect.name == "sqlite"
    keys = {"account": account_id, "nos": among_value(list(external_nos), sqlite)}
    rows = await plain_rows(
        conn, _LISTINGS_OF_SQLITE if sqlite else _LISTINGS_OF_POSTGRESQL, keys
    )
    found: dict[str, list[Listing]] = defaultdict(list)
    for no, product_id, platform, shop in rows:
        found[no].append(
            Listing(product_id=product_id, source_platform=platform, shop=shop)
        )
    return dict(found)


def among(
    column: sa.ColumnElement[str], values: Sequence[str], sqlite: bool
) -> sa.ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter, which
    the server matches through a hash instead of comparing every row with
    every parameter."""
    if sqlite:
        return column.in_(values)
    array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String()))
    return column == sa.any_(array)


def among_text(column: str, param: str) -> tuple[str, str]:
    """SQL text for `column` among the values of parameter `param`, on SQLite
    and on PostgreSQL: one parameter (see `among_value`), so that a statement
    has one text whatever the number of values, and is built once."""
    # Only the module's own column and parameter names go in, never values.
    return (
        f"{column} IN (SELECT value FROM json_each(:{param}))",  # noqa: S608
        f"{column} = ANY(CAST(:{param} AS text[]))",
    )


def among_value(values: Sequence[str], sqlite: bool) -> str | list[str]:
    """The parameter of `among_text`: a JSON array on SQLite, a list otherwise."""
    return orjson.dumps(list(values)).decode() if sqlite else list(values)


_LISTINGS_OF = """
SELECT external_no, product_id, source_platform, shop FROM product_listings
WHERE account_id = :account AND {among}
ORDER BY source_platform, shop, product_id
"""
_AMONG_NOS_SQLITE, _AMONG_NOS_POSTGRESQL = among_text("external_no", "nos")
_LISTINGS_OF_SQLITE = sa.text(_LISTINGS_OF.format(among=_AMONG_NOS_SQLITE))
_LISTINGS_OF_POSTGRESQL = sa.text(_LISTINGS_OF.format(among=_AMONG_NOS_POSTGRESQL))


def product_event(view: ProductView, account_id: str) -> NewEvent:
    """A PRODUCT_CHANGED event carrying the product's view."""
    return NewEvent(
        account_id=account_id,
        type=EventType.PRODUCT_CHANGED,
        payload=view.model_dump(mode="json"),
    )


def record_of(row: Any) -> ProductRecord:
    """A record from a `products` row."""
    return ProductRecord(
        account_id=row.account_id,
        external_no=row.external_no,
        info=ProductInfo.model_validate_json(row.info),
        state=ProductState(row.state),
        in_boltrics=bool(row.in_boltrics),
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(record: ProductRecord) -> dict[str, Any]:
    return {
        "account_id": record.account_id,
        "external_no": record.external_no,
        "state": record.state.value,
        "in_boltrics": record.in_boltrics,
        "last_error": record.last_error,
        "info": record.info.model_dump_json(),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _listing(row: Any) -> Listing:
    return Listing(
        product_id=row.product_id, source_platform=row.source_platform, shop=row.shop
    )


def _item(record: ProductRecord) -> BatchItem:
    info = record.info
    return BatchItem(
        external_no=record.external_no,
        description=info.description,
        weight_kg=info.weight_kg,
        barcode=info.barcodes[0] if info.barcodes else "",
    )


def _batch(row: Any) -> Batch:
    return Batch(
        batch_id=row.batch_id,
        account_id=row.account_id,
        action=SendAction(row.action),
        reference=row.reference,
        items=tuple(BatchItem(**item) for item in json.loads(row.items)),
        attempts=row.attempts,
        message_id=row.message_id or "",
    )


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back aggregates as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
