"""Stock in the SQL store: figures, holds, activation and the projector's cursor.

Every change of a level happens in one write transaction that locks the
levels it touches (`FOR UPDATE` on PostgreSQL; SQLite writers are serialized),
recomputes their reserved quantity from the holds and the newest figure, and
records a STOCK_CHANGED event for every known product of an active account
whose sellable level moved. Levels are locked in ExternalNo order, so that two
transactions never wait for each other in a circle.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
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
from service.adapters.store.products import (
    among,
    among_text,
    among_value,
    chunks,
    listings_of,
)
from service.adapters.store.stock_tables import (
    stock_accounts,
    stock_cursor,
    stock_holds,
    stock_levels,
    stock_unknown,
)
from service.adapters.store.tables import UtcDateTime, utc_datetime
from service.domain.events import EventType, NewEvent
from service.domain.stock import (
    Figure,
    Hold,
    StockLevelView,
    counts,
    level_payload,
    level_view,
    reserved,
    sellable,
    supersedes,
)

PROJECTOR = "projector"


@dataclass
class _Level:
    """One `stock_levels` row while a transaction works on it."""

    external_no: str
    figure: Figure | None
    reserved: int
    sellable: int
    changed_at: datetime
    dirty: bool = False


@dataclass
class _Held:
    """The holds on one item: the sum of the open ones, and of the processed
    ones with the earliest time of processing. The processed holds one by one
    only when the level's figure may include some of them (`settles`)."""

    open: int = 0
    processed_sum: int = 0
    earliest: datetime | None = None
    processed: list[Hold] | None = None

    def settles(self, figure_as_of: datetime | None) -> bool:
        """Whether a figure of `figure_as_of` includes some processed hold."""
        if self.earliest is None:
            return False
        return not counts(Hold("", "", 0, self.earliest), figure_as_of)

    def reserved(self, figure_as_of: datetime | None) -> int:
        """The quantity held that a figure of `figure_as_of` does not include."""
        if self.processed is None:
            return self.open + self.processed_sum
        return self.open + reserved(self.processed, figure_as_of)


@dataclass
class Outcome:
    """What a write did: levels whose sellable value moved (their ExternalNos),
    drift, new unknowns."""

    changed: list[str] = field(default_factory=list)
    drifted: int = 0
    unknown: list[str] = field(default_factory=list)
    events: int = 0


class StockTransaction:
    """One write transaction over the stock of any number of accounts."""

    def __init__(self, conn: Connection, store: SqlStockStore):
        self._conn = conn
        self._store = store
        self.emitted = False

    async def position(self) -> int:
        """The projector's cursor, locked until the transaction ends."""
        query = _POSITION if self._store.is_sqlite else _POSITION_LOCKED
        found = await plain_rows(self._conn, query, {})
        value = found[0][0] if found else None
        if value is None:
            await self._conn.execute(
                _insert(self._store.is_sqlite, stock_cursor)
                .values(name=PROJECTOR, position=0)
                .on_conflict_do_nothing()
            )
            return 0
        return int(value)

    async def move_to(self, position: int) -> None:
        """Store the projector's cursor."""
        await plain_rows(self._conn, _MOVE_TO, {"v_position": position})

    async def replace_holds(
        self, account_id: str, order_id: str, quantities: Mapping[str, int]
    ) -> set[str]:
        """Make an open order hold `quantities`; the ExternalNos touched."""
        before = await self._order_holds(account_id, order_id)
        if before:
            await plain_rows(
                self._conn, _DROP_ORDER_HOLDS, _order_key(account_id, order_id)
            )
        if quantities:
            await plain_execute_many(
                self._conn,
                _ADD_HOLDS,
                [
                    {
                        "account_id": account_id,
                        "order_id": order_id,
                        "external_no": external_no,
                        "quantity": quantity,
                        "processed_at": None,
                    }
                    for external_no, quantity in quantities.items()
                ],
            )
        return set(before) | set(quantities)

    async def mark_processed(
        self, account_id: str, order_id: str, moment: datetime
    ) -> set[str]:
        """Date when Boltrics was seen to have processed the order."""
        touched = set(await self._order_holds(account_id, order_id))
        if touched:
            keys = _order_key(account_id, order_id) | {"v_moment": moment}
            await plain_rows(self._conn, _MARK_PROCESSED, keys)
        return touched

    async def drop_holds(self, account_id: str, order_id: str) -> set[str]:
        """Release every hold of an order; the ExternalNos touched."""
        touched = set(await self._order_holds(account_id, order_id))
        if touched:
            await plain_rows(
                self._conn, _DROP_ORDER_HOLDS, _order_key(account_id, order_id)
            )
        return touched

    async def settle(
        self,
        account_id: str,
        external_nos: Iterable[str],
        now: datetime,
        figures: Mapping[str, Figure] | None = None,
        *,
        push: bool = False,
    ) -> Outcome:
        """Apply newer `figures`, recompute the levels, and emit what moved.

        `push` emits every known level, moved or not (activation).
        """
        outcome = Outcome()
        wanted = sorted(set(external_nos) | set(figures or {}))
        if not wanted:
            return outcome
        levels = await self._lock_levels(account_id, wanted, now)
        if figures:
            outcome.drifted = _apply(levels, figures)
        holds = await self._holds(account_id, wanted, levels)
        moved = self._recompute(levels, holds, now)
        await self._forget_settled(account_id, levels, holds)
        await self._write(account_id, levels)

        known = await self._known(account_id, wanted)
        if figures:
            outcome.unknown = await self._note_unknown(
                account_id, [no for no in figures if no not in known], now
            )
        if await self._store.is_active(self._conn, account_id):
            emit = [no for no in wanted if no in known and (push or no in moved)]
            payloads = await self._payloads(account_id, levels, emit)
            await self.emit_levels(account_id, payloads)
            outcome.changed, outcome.events = emit, len(emit)
        return outcome

    # TODO: bench/stock.py (1) is about 2.0 to 2.3 for an active account with
    # a tenth of its levels drifted (target 1.5; 1.4 to 1.7 when inactive,
    # without events). The sync is CPU-bound in this process; per drifted
    # level it reads, rewrites and emits (about half of the work, py-spy),
    # and rereading and redating the unchanged ones is a fifth. A per-account
    # "all levels confirmed as of" mark would spare the redating, but it must
    # not cover levels Boltrics did not list, stockstatus messages would have
    # to wait while a sync runs, and every reader of `as_of` (views included)
    # would have to apply the mark.
    async def redate_unchanged(
        self,
        account_id: str,
        quantities: Iterable[tuple[str, int, int]],
        as_of: datetime,
    ) -> set[str]:
        """Date `as_of` the stored figures that `quantities` (ExternalNo,
        available, in inventory) repeat exactly, of items no order holds; the
        ExternalNos so settled.

        Such a row's reserved and sellable quantities cannot move, so it needs
        no event: the usual case of a full sync, read and written in one
        statement each, whatever the page's size. Pass the rest to `settle`.
        """
        page = set(quantities)
        if not page:
            return set()
        sqlite = self._store.is_sqlite
        if sqlite:
            same_in_range = await self._redate_range(account_id, page, as_of)
            if same_in_range is not None:
                return same_in_range

        keys: dict[str, Any] = {"account": account_id, "as_of": as_of}
        keys["nos"] = among_value(sorted(no for no, _, _ in page), sqlite)
        if not sqlite:
            # Every row of the page, before `settle` locks the rest of them.
            await self._conn.execute(_LOCK_POSTGRESQL, keys)

        stored = await plain_rows(
            self._conn, _UNHELD_SQLITE if sqlite else _UNHELD_POSTGRESQL, keys
        )
        same = [row[0] for row in stored if row in page]
        if same:
            keys["nos"] = among_value(same, sqlite)
            await self._conn.execute(
                _REDATE_SQLITE if sqlite else _REDATE_POSTGRESQL, keys
            )
        return set(same)

    async def _redate_range(
        self, account_id: str, page: set[tuple[str, int, int]], as_of: datetime
    ) -> set[str] | None:
        """`redate_unchanged` on SQLite, over the page's range of ExternalNos: a
        range scan, where looking each ExternalNo up costs twice as much. None
        when the range holds far more rows than the page (Boltrics' pages need
        not come in ExternalNo order): then look them up."""
        nos = [no for no, _, _ in page]
        keys: dict[str, Any] = {
            "account": account_id,
            "as_of": as_of,
            "first": min(nos),
            "last": max(nos),
            "cap": 2 * len(page) + 1,
        }
        stored = await plain_rows(self._conn, _UNHELD_RANGE, keys)
        if len(stored) >= keys["cap"]:
            return None

        same: list[str] = []
        other: list[str] = []
        for row in stored:
            (same if row in page else other).append(row[0])
        if same:
            # The same rows as the read (one write transaction), but the others.
            keys["other"] = among_value(other, True)
            await plain_execute_many(self._conn, _REDATE_RANGE, [keys])
        return set(same)

    async def forget_unknown(
        self, account_id: str, external_nos: Sequence[str]
    ) -> set[str]:
        """Drop ExternalNos from the unknown ones; those that were there."""
        forgotten: set[str] = set()
        for part in chunks(sorted(set(external_nos))):
            result = await self._conn.execute(
                stock_unknown.delete()
                .where(
                    stock_unknown.c.account_id == account_id,
                    among(stock_unknown.c.external_no, part, self._store.is_sqlite),
                )
                .returning(stock_unknown.c.external_no)
            )
            forgotten.update(row.external_no for row in result)
        return forgotten

    async def emit_levels(
        self, account_id: str, payloads: Sequence[dict[str, Any]]
    ) -> None:
        """Record a STOCK_CHANGED event per level's payload (`level_payload`)."""
        await self._store.events.append(
            self._conn, [stock_event(account_id, payload) for payload in payloads]
        )
        self.emitted = self.emitted or bool(payloads)

    async def _order_holds(self, account_id: str, order_id: str) -> list[str]:
        rows = await plain_rows(
            self._conn, _ORDER_HOLDS, _order_key(account_id, order_id)
        )
        return [row[0] for row in rows]

    async def _lock_levels(
        self, account_id: str, external_nos: list[str], now: datetime
    ) -> dict[str, _Level]:
        levels = await self._select_levels(account_id, external_nos)
        missing = [no for no in external_nos if no not in levels]
        if missing:
            await self._conn.execute(
                _insert(self._store.is_sqlite, stock_levels).on_conflict_do_nothing(),
                [_empty_row(account_id, no, now) for no in missing],
            )
            levels |= await self._select_levels(account_id, missing)
        return levels

    async def _select_levels(
        self, account_id: str, external_nos: list[str]
    ) -> dict[str, _Level]:
        sqlite = self._store.is_sqlite
        keys = {"account": account_id, "nos": among_value(external_nos, sqlite)}
        rows = await plain_rows(
            self._conn, _LEVELS_SQLITE if sqlite else _LEVELS_POSTGRESQL, keys
        )
        return {row[0]: _level_of(row) for row in rows}

    async def _holds(
        self, account_id: str, external_nos: list[str], levels: dict[str, _Level]
    ) -> dict[str, _Held]:
        # SQL adds the holds up; only where the level's figure includes some
        # processed hold (soon after a new figure) do they come back one by
        # one, to be compared and forgotten. Processed holds pile up between
        # figures, and each order's settle would otherwise read them all.
        sqlite = self._store.is_sqlite
        keys = {"account": account_id, "nos": among_value(external_nos, sqlite)}
        found: dict[str, _Held] = {}
        sums = await plain_rows(
            self._conn, _HELD_SQLITE if sqlite else _HELD_POSTGRESQL, keys
        )
        for no, open_sum, processed_sum, earliest in sums:
            found[no] = _Held(int(open_sum), int(processed_sum), utc_datetime(earliest))
        detail = [no for no, item in found.items() if item.settles(_as_of(levels[no]))]
        if not detail:
            return found
        rows: dict[str, list[Hold]] = {no: [] for no in detail}
        keys["nos"] = among_value(detail, sqlite)
        processed = await plain_rows(
            self._conn,
            _PROCESSED_HELD_SQLITE if sqlite else _PROCESSED_HELD_POSTGRESQL,
            keys,
        )
        for order_id, no, quantity, processed_at in processed:
            hold = Hold(order_id, no, int(quantity), utc_datetime(processed_at))
            rows[no].append(hold)
        for no, holds in rows.items():
            found[no].processed = holds
        return found

    def _recompute(
        self,
        levels: dict[str, _Level],
        holds: dict[str, _Held],
        now: datetime,
    ) -> set[str]:
        moved = set()
        for no, level in levels.items():
            item = holds.get(no)
            held = 0 if item is None else item.reserved(_as_of(level))
            available = level.figure.qty_available if level.figure else 0
            value = sellable(available, held)
            if held != level.reserved:
                level.reserved, level.dirty = held, True
            if value != level.sellable:
                level.sellable, level.changed_at, level.dirty = value, now, True
                moved.add(no)
        return moved

    async def _forget_settled(
        self,
        account_id: str,
        levels: dict[str, _Level],
        holds: dict[str, _Held],
    ) -> None:
        # A hold the newest figure includes never counts again (as_of only grows).
        settled = [
            {"b_order": hold.order_id, "b_no": hold.external_no}
            for no, item in holds.items()
            for hold in item.processed or ()
            if not counts(hold, _as_of(levels[no]))
        ]
        if settled:
            await self._conn.execute(
                stock_holds.delete().where(
                    stock_holds.c.account_id == account_id,
                    stock_holds.c.order_id == sa.bindparam("b_order"),
                    stock_holds.c.external_no == sa.bindparam("b_no"),
                ),
                settled,
            )

    async def _write(self, account_id: str, levels: dict[str, _Level]) -> None:
        rows = [_bound(account_id, level) for level in levels.values() if level.dirty]
        await plain_execute_many(self._conn, _WRITE_LEVEL, rows)

    async def _known(self, account_id: str, external_nos: list[str]) -> set[str]:
        sqlite = self._store.is_sqlite
        keys = {"account": account_id, "nos": among_value(external_nos, sqlite)}
        rows = await plain_rows(
            self._conn, _KNOWN_SQLITE if sqlite else _KNOWN_POSTGRESQL, keys
        )
        return {row[0] for row in rows}

    async def _note_unknown(
        self, account_id: str, external_nos: list[str], now: datetime
    ) -> list[str]:
        if not external_nos:
            return []
        seen: set[str] = set()
        for part in chunks(external_nos):
            rows = await self._conn.execute(
                sa.select(stock_unknown.c.external_no).where(
                    stock_unknown.c.account_id == account_id,
                    among(stock_unknown.c.external_no, part, self._store.is_sqlite),
                )
            )
            seen.update(row.external_no for row in rows)
        new = sorted(set(external_nos) - seen)
        if new:
            await self._conn.execute(
                _insert(self._store.is_sqlite, stock_unknown).on_conflict_do_nothing(),
                [
                    {"account_id": account_id, "external_no": no, "first_seen": now}
                    for no in new
                ],
            )
        return new

    async def _payloads(
        self, account_id: str, levels: dict[str, _Level], external_nos: list[str]
    ) -> list[dict[str, Any]]:
        if not external_nos:
            return []
        listings = await listings_of(self._conn, account_id, external_nos)
        return [
            level_payload(
                no, levels[no].figure, levels[no].reserved, listings.get(no, ())
            )
            for no in external_nos
        ]


class SqlStockStore:
    """Stock in the SQL store."""

    def __init__(self, database: Database, events: SqlEventLog):
        self._database = database
        self.events = events

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is SQLite (no row locks; writers are serialized)."""
        return self._database.is_sqlite

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StockTransaction]:
        """A write transaction; events it emitted wake readers after the commit.

        On PostgreSQL it first takes the event log's append lock, which any
        stock write may need after locking levels (a sync's pages lock theirs
        in one transaction, in Boltrics' order, not ExternalNo order): stock
        writers take turns instead of deadlocking.
        """
        async with self._database.write() as conn:
            await self.events.lock_appends(conn)
            txn = StockTransaction(conn, self)
            yield txn
        if txn.emitted:
            self.events.signal.notify()

    async def position(self) -> int:
        """The projector's cursor (0 before its first page)."""
        async with self._database.read() as conn:
            found = await plain_rows(conn, _POSITION, {})
        return int(found[0][0] or 0) if found else 0

    async def is_active(self, conn: Connection, account_id: str) -> bool:
        """Whether the account's stock link is active (inside a transaction)."""
        rows = await plain_rows(conn, _ACTIVE, {"account": account_id})
        return bool(rows and rows[0][0])

    async def active(self, account_id: str) -> bool:
        """Whether the account's stock link is active."""
        async with self._database.read() as conn:
            return await self.is_active(conn, account_id)

    async def activate(self, account_id: str, now: datetime) -> None:
        """Mark the account's stock link active (once; later calls keep the date)."""
        async with self._database.write() as conn:
            statement = _insert(self.is_sqlite, stock_accounts).values(
                account_id=account_id, active=True, activated_at=now
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[stock_accounts.c.account_id],
                    set_={
                        "active": True,
                        "activated_at": sa.func.coalesce(
                            stock_accounts.c.activated_at, now
                        ),
                    },
                )
            )

    async def claim_full_sync(
        self, account_id: str, now: datetime, due_before: datetime
    ) -> bool:
        """Claim the account's full sync when its last one began before `due_before`.

        Replicas that ask at the same time get one yes between them.
        """
        async with self._database.write() as conn:
            await conn.execute(
                _insert(self.is_sqlite, stock_accounts)
                .values(account_id=account_id, active=False)
                .on_conflict_do_nothing()
            )
            result = await conn.execute(
                stock_accounts.update()
                .where(
                    stock_accounts.c.account_id == account_id,
                    sa.or_(
                        stock_accounts.c.full_sync_at.is_(None),
                        stock_accounts.c.full_sync_at < due_before,
                    ),
                )
                .values(full_sync_at=now)
            )
        return bool(result.rowcount)

    async def unclaim_full_sync(
        self, account_id: str, claimed_at: datetime, began_at: datetime
    ) -> None:
        """Date the account's claimed full sync back to `began_at`, so that it
        is due again sooner (it failed); unless another claim came since."""
        async with self._database.write() as conn:
            await conn.execute(
                stock_accounts.update()
                .where(
                    stock_accounts.c.account_id == account_id,
                    stock_accounts.c.full_sync_at == claimed_at,
                )
                .values(full_sync_at=began_at)
            )

    async def figures_before(self, account_id: str, moment: datetime) -> list[str]:
        """The ExternalNos whose Boltrics figure is dated before `moment`: after
        a full sync that began then, those Boltrics no longer lists."""
        query = (
            sa.select(stock_levels.c.external_no)
            .where(
                stock_levels.c.account_id == account_id,
                stock_levels.c.as_of < moment,
            )
            .order_by(stock_levels.c.external_no)
        )
        async with self._database.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def known_page(self, account_id: str, after: str, limit: int) -> list[str]:
        """Up to `limit` known ExternalNos of the account after `after`, in order."""
        query = (
            sa.select(products.c.external_no)
            .where(products.c.account_id == account_id, products.c.external_no > after)
            .order_by(products.c.external_no)
            .limit(limit)
        )
        async with self._database.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def level_page(
        self,
        account_id: str,
        *,
        after: str,
        limit: int,
        changed_since: datetime | None = None,
        among_nos: Sequence[str] | None = None,
    ) -> list[StockLevelView]:
        """Up to `limit` levels of known products after ExternalNo `after`."""
        join = products.outerjoin(
            stock_levels,
            sa.and_(
                stock_levels.c.account_id == products.c.account_id,
                stock_levels.c.external_no == products.c.external_no,
            ),
        )
        query = (
            sa.select(products.c.external_no, *_LEVEL_COLUMNS)
            .select_from(join)
            .where(products.c.account_id == account_id, products.c.external_no > after)
            .order_by(products.c.external_no)
            .limit(limit)
        )
        if changed_since is not None:
            query = query.where(stock_levels.c.changed_at > changed_since)
        if among_nos is not None:
            query = query.where(
                among(products.c.external_no, among_nos, self.is_sqlite)
            )
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).all()
            nos = [row.external_no for row in rows]
            listings = await listings_of(conn, account_id, nos) if nos else {}
        return [_view_of(row, listings.get(row.external_no, ())) for row in rows]

    async def level(self, account_id: str, external_no: str) -> StockLevelView:
        """One level, known product or not (for tools and tests)."""
        query = sa.select(stock_levels).where(
            stock_levels.c.account_id == account_id,
            stock_levels.c.external_no == external_no,
        )
        async with self._database.read() as conn:
            row = (await conn.execute(query)).first()
            listings = await listings_of(conn, account_id, [external_no])
        if row is None:
            return level_view(external_no, None, 0, listings.get(external_no, ()))
        return _view_of(row, listings.get(external_no, ()))

    async def unknown(self, account_id: str) -> list[str]:
        """ExternalNos Boltrics reported that are no known product."""
        query = (
            sa.select(stock_unknown.c.external_no)
            .where(stock_unknown.c.account_id == account_id)
            .order_by(stock_unknown.c.external_no)
        )
        async with self._database.read() as conn:
            return list((await conn.execute(query)).scalars())

    async def accounts_with(self, *, active: bool) -> list[str]:
        """Accounts whose stock link is (or is not) active."""
        query = sa.select(stock_accounts.c.account_id).where(
            stock_accounts.c.active.is_(active)
        )
        async with self._database.read() as conn:
            return list((await conn.execute(query)).scalars())


def stock_event(account_id: str, payload: dict[str, Any]) -> NewEvent:
    """A STOCK_CHANGED event carrying a level's view, as `level_payload`
    writes it."""
    return NewEvent(
        account_id=account_id, type=EventType.STOCK_CHANGED, payload=payload
    )


_LEVEL_COLUMNS = (
    stock_levels.c.qty_available,
    stock_levels.c.qty_in_inventory,
    stock_levels.c.as_of,
    stock_levels.c.reserved,
)


def _apply(levels: dict[str, _Level], figures: Mapping[str, Figure]) -> int:
    """Apply figures newer than the stored ones; how many differed (drift)."""
    drifted = 0
    for no, figure in figures.items():
        level = levels[no]
        if not supersedes(figure.as_of, _as_of(level)):
            continue
        if level.figure is not None and (
            level.figure.qty_available != figure.qty_available
            or level.figure.qty_in_inventory != figure.qty_in_inventory
        ):
            drifted += 1
        level.figure, level.dirty = figure, True
    return drifted


# The ExternalNos travel as one parameter (JSON on SQLite, an array on
# PostgreSQL), so that a statement has one text whatever the page's size, and
# rows come back as plain values. On PostgreSQL the page's rows are locked
# first, all of them in ExternalNo order, as every other writer locks them.
_AMONG_SQLITE, _AMONG_POSTGRESQL = among_text("external_no", "nos")
_UNHELD = """
SELECT external_no, qty_available, qty_in_inventory FROM stock_levels
WHERE account_id = :account AND {among} AND as_of <= :as_of
AND NOT EXISTS (
    SELECT 1 FROM stock_holds AS hold
    WHERE hold.account_id = stock_levels.account_id
    AND hold.external_no = stock_levels.external_no
)
"""
_REDATE = """
UPDATE stock_levels SET as_of = :as_of WHERE account_id = :account AND {among}
"""
_AS_OF = sa.bindparam("as_of", type_=UtcDateTime())
_IN_RANGE_UNHELD = """
account_id = :account AND external_no BETWEEN :first AND :last
AND as_of <= :as_of AND NOT EXISTS (
    SELECT 1 FROM stock_holds AS hold
    WHERE hold.account_id = stock_levels.account_id
    AND hold.external_no = stock_levels.external_no
)
"""
_READ_RANGE = """
SELECT external_no, qty_available, qty_in_inventory FROM stock_levels
WHERE {where} LIMIT :cap
"""
_REDATE_IN_RANGE = """
UPDATE stock_levels SET as_of = :as_of
WHERE {where} AND external_no NOT IN (SELECT value FROM json_each(:other))
"""
_UNHELD_RANGE = sa.text(_READ_RANGE.format(where=_IN_RANGE_UNHELD))
_REDATE_RANGE = sa.text(_REDATE_IN_RANGE.format(where=_IN_RANGE_UNHELD))
_UNHELD_SQLITE = sa.text(_UNHELD.format(among=_AMONG_SQLITE)).bindparams(_AS_OF)
_UNHELD_POSTGRESQL = sa.text(_UNHELD.format(among=_AMONG_POSTGRESQL)).bindparams(_AS_OF)
_LOCK = """
SELECT external_no FROM stock_levels WHERE account_id = :account AND {among}
ORDER BY external_no FOR UPDATE
"""
_LOCK_POSTGRESQL = sa.text(_LOCK.format(among=_AMONG_POSTGRESQL))
_REDATE_SQLITE = sa.text(_REDATE.format(among=_AMONG_SQLITE)).bindparams(_AS_OF)
_REDATE_POSTGRESQL = sa.text(_REDATE.format(among=_AMONG_POSTGRESQL)).bindparams(_AS_OF)
_LEVELS = """
SELECT external_no, qty_available, qty_in_inventory, as_of, reserved, sellable,
changed_at FROM stock_levels WHERE account_id = :account AND {among}
ORDER BY external_no{lock}
"""
_LEVELS_SQLITE = sa.text(_LEVELS.format(among=_AMONG_SQLITE, lock=""))
_LEVELS_POSTGRESQL = sa.text(
    _LEVELS.format(among=_AMONG_POSTGRESQL, lock=" FOR UPDATE")
)
_KNOWN = """
SELECT external_no FROM products WHERE account_id = :account AND {among}
"""
_KNOWN_SQLITE = sa.text(_KNOWN.format(among=_AMONG_SQLITE))
_KNOWN_POSTGRESQL = sa.text(_KNOWN.format(among=_AMONG_POSTGRESQL))
_ACTIVE = sa.text("SELECT active FROM stock_accounts WHERE account_id = :account")
_WRITE_LEVEL = sa.text("""
UPDATE stock_levels SET qty_available = :b_available,
qty_in_inventory = :b_inventory, as_of = :b_as_of, reserved = :b_reserved,
sellable = :b_sellable, changed_at = :b_changed
WHERE account_id = :b_account AND external_no = :b_no
""")
_HELD = """
SELECT external_no,
SUM(CASE WHEN processed_at IS NULL THEN quantity ELSE 0 END),
SUM(CASE WHEN processed_at IS NULL THEN 0 ELSE quantity END),
MIN(processed_at)
FROM stock_holds WHERE account_id = :account AND {among}
GROUP BY external_no
"""
_PROCESSED_HELD = """
SELECT order_id, external_no, quantity, processed_at FROM stock_holds
WHERE account_id = :account AND {among} AND processed_at IS NOT NULL
"""
_HELD_SQLITE = sa.text(_HELD.format(among=_AMONG_SQLITE))
_HELD_POSTGRESQL = sa.text(_HELD.format(among=_AMONG_POSTGRESQL))
_PROCESSED_HELD_SQLITE = sa.text(_PROCESSED_HELD.format(among=_AMONG_SQLITE))
_PROCESSED_HELD_POSTGRESQL = sa.text(_PROCESSED_HELD.format(among=_AMONG_POSTGRESQL))


# The statements of the projector's per-order steps, built once: building
# a statement and its cache key cost more than running it on SQLite.
_ORDER_KEY = sa.and_(
    stock_holds.c.account_id == sa.bindparam("k_account"),
    stock_holds.c.order_id == sa.bindparam("k_order"),
)
_ORDER_HOLDS = sa.select(stock_holds.c.external_no).where(_ORDER_KEY)
_DROP_ORDER_HOLDS = stock_holds.delete().where(_ORDER_KEY)
_ADD_HOLDS = stock_holds.insert()
_POSITION = sa.select(stock_cursor.c.position).where(stock_cursor.c.name == PROJECTOR)
_POSITION_LOCKED = _POSITION.with_for_update()
_MOVE_TO = (
    stock_cursor.update()
    .where(stock_cursor.c.name == PROJECTOR)
    .values(position=sa.bindparam("v_position"))
)
_MARK_PROCESSED = (
    stock_holds.update()
    .where(_ORDER_KEY, stock_holds.c.processed_at.is_(None))
    .values(processed_at=sa.bindparam("v_moment"))
)


def _order_key(account_id: str, order_id: str) -> dict[str, Any]:
    return {"k_account": account_id, "k_order": order_id}


def _as_of(level: _Level) -> datetime | None:
    return level.figure.as_of if level.figure else None


def _figure(row: Any) -> Figure | None:
    if row.as_of is None:
        return None
    return Figure(int(row.qty_available), int(row.qty_in_inventory), row.as_of)


def _level_of(row: tuple[Any, ...]) -> _Level:
    """A `_Level` from a row of `_LEVELS`, as `plain_rows` gives it."""
    no, available, inventory, as_of, reserved_quantity, sellable_level, changed = row
    return _Level(
        external_no=no,
        figure=None
        if as_of is None
        else Figure(int(available), int(inventory), _moment(as_of)),
        reserved=int(reserved_quantity),
        sellable=int(sellable_level),
        changed_at=_moment(changed),
    )


def _moment(value: str | datetime) -> datetime:
    moment = utc_datetime(value)
    assert moment is not None
    return moment


def _view_of(row: Any, listings: Sequence[Any]) -> StockLevelView:
    reserved_quantity = int(row.reserved or 0)
    return level_view(row.external_no, _figure(row), reserved_quantity, listings)


def _empty_row(account_id: str, external_no: str, now: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "external_no": external_no,
        "qty_available": None,
        "qty_in_inventory": None,
        "as_of": None,
        "reserved": 0,
        "sellable": 0,
        "changed_at": now,
    }


def _bound(account_id: str, level: _Level) -> dict[str, Any]:
    figure = level.figure
    return {
        "b_account": account_id,
        "b_no": level.external_no,
        "b_available": figure.qty_available if figure else None,
        "b_inventory": figure.qty_in_inventory if figure else None,
        "b_as_of": figure.as_of if figure else None,
        "b_reserved": level.reserved,
        "b_sellable": level.sellable,
        "b_changed": level.changed_at,
    }


def _insert(is_sqlite: bool, table: sa.Table) -> Any:
    return (sqlite if is_sqlite else postgresql).insert(table)
