"""Stock: Boltrics leads, orders hold, and every change reaches the channels.

`StockService` runs three loops (see `service.domain.stock` for the counting
rule):

- the projector follows the event log from its stored cursor: order events
  add, date and release holds; a product that becomes known gets its level.
  Holds, levels, STOCK_CHANGED events and the cursor change in one
  transaction, so a crash repeats nothing and loses nothing.
- the collector reads Boltrics' `stockstatus` messages (Outbound, New),
  stores their figures, then acknowledges them.
- the full sync pages every level from `stockLevels` once per
  `full_sync_seconds`, corrects drift and emits only levels that moved.

`clock` must be the wall clock in production: full-sync figures are dated by
it, and compared with the event log's times.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from pydantic import ValidationError

from service.adapters.boltrics import (
    BoltricsError,
    BoltricsGateway,
    DiMessage,
    Direction,
    DocumentError,
    MessageStatus,
    MessageType,
    StockLevel,
    StockStatusItem,
    parse_stock_status,
)
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.stock import Outcome, SqlStockStore, StockTransaction
from service.config import Account
from service.domain.events import Event, EventType
from service.domain.orders import OrderRecord
from service.domain.stock import Figure, HoldStage, StockLevelView, hold_stage
from service.domain.stock import order_quantities as quantities_of
from service.errors import NotFound
from service.logging import get_logger
from service.services.ahead import read_ahead
from service.services.orders import utc_now
from service.services.pacing import PollPacer

_log = get_logger(__name__)

STOCK_EVENTS = Counter(
    "connector_stock_events_total",
    "STOCK_CHANGED events recorded, by cause.",
    ["cause"],
)
STOCK_DRIFT = Counter(
    "connector_stock_drift_total",
    "Levels the full synchronisation found different from what the connector had.",
)
STOCK_REJECTED = Counter(
    "connector_stock_items_rejected_total",
    "Items of stockstatus messages left out for a bad quantity.",
)

PAGE = 1000
#: Pages of a full sync that share a commit, and how long a transaction waits
#: for the next page before it commits without it.
PAGES_PER_COMMIT = 4
PAGE_WAIT_SECONDS = 0.05
#: Events the projector reads a round, and how long it waits for more to come.
PROJECTOR_PAGE = 500
PROJECTOR_LINGER_SECONDS = 0.05
_ORDER_EVENTS = (
    EventType.ORDER_ACCEPTED,
    EventType.ORDER_SENT,
    EventType.ORDER_PROCESSED,
    EventType.ORDER_FAILED,
    EventType.ORDER_SKIPPED,
    EventType.ORDER_SHIPPED,
)
_FOLLOWED = (*_ORDER_EVENTS, EventType.PRODUCT_CHANGED)
ACTIVE_CACHE_SECONDS = 5.0
#: How soon a failed full sync is tried again (at most the sync's interval).
FULL_SYNC_RETRY = timedelta(minutes=5)
_NEVER = datetime.min.replace(tzinfo=utc_now().tzinfo)


@dataclass(frozen=True)
class SyncReport:
    """What one full synchronisation of an account found."""

    account_id: str
    levels: int
    drifted: int
    changed: int
    seconds: float


class StockService:
    """Keeps every account's sellable levels and tells the channels of changes."""

    def __init__(
        self,
        database: Database,
        events: SqlEventLog,
        gateway_for: Callable[[str], BoltricsGateway | None],
        account_for: Callable[[str], Account | None],
        accounts: Callable[[], list[str]],
        *,
        full_sync_seconds: float = 86_400,
        poll_seconds: float = 0.5,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._store = SqlStockStore(database, events)
        self._events = events
        self._active: dict[str, tuple[bool, float]] = {}
        self._gateway_for = gateway_for
        self._account_for = account_for
        self._accounts = accounts
        self._full_sync = timedelta(seconds=full_sync_seconds)
        self._poll_seconds = poll_seconds
        self._pacer = PollPacer(poll_seconds)
        self._clock = clock

    @property
    def store(self) -> SqlStockStore:
        """The stock store (for tools and tests)."""
        return self._store

    # --- the API ------------------------------------------------------------

    async def activate(self, account_id: str) -> int:
        """Make the account's stock link active and push every known level.

        Idempotent: a second call pushes the levels again. Every level is read
        from Boltrics first (when Boltrics answers), since Boltrics leads: the
        channels get today's figures, not those of the last daily sync.
        Returns how many levels were pushed.
        """
        self._known_account(account_id)
        now = self._clock()
        if self._gateway_for(account_id) is not None and (
            await self._store.claim_full_sync(account_id, now, now)
        ):
            with contextlib.suppress(BoltricsError):
                await self._sync_claimed_at(account_id, now)
        await self._store.activate(account_id, now)
        self._active[account_id] = (True, time.monotonic())

        pushed = await self._push_all(account_id)
        STOCK_EVENTS.labels("activation").inc(pushed)
        _log.info("stock.activated", account=account_id, pushed=pushed)
        return pushed

    async def is_active(self, account_id: str) -> bool:
        """Whether the account's stock link was activated (through the API).

        Read from the store at most every few seconds per account, so that a
        cheap call such as GetAccount stays cheap; an activation through
        another replica shows within that time.
        """
        known = self._active.get(account_id)
        now = time.monotonic()
        if known is not None and now - known[1] < ACTIVE_CACHE_SECONDS:
            return known[0]
        active = await self._store.active(account_id)
        self._active[account_id] = (active, now)
        return active

    async def levels(
        self,
        account_id: str,
        *,
        changed_since: datetime | None = None,
        external_nos: Sequence[str] | None = None,
    ) -> AsyncIterator[StockLevelView]:
        """The levels of the account's known products, by ExternalNo, page by page.

        All of them, those whose sellable level changed after `changed_since`,
        or those among `external_nos` (unknown ones are left out). Raises
        NotFound for an unknown account before the first level.
        """
        self._known_account(account_id)
        return self._levels(account_id, changed_since, external_nos)

    async def full_sync(self, account_id: str) -> SyncReport:
        """Read every level from Boltrics now and correct drift."""
        self._known_account(account_id)
        now = self._clock()
        await self._store.claim_full_sync(account_id, now, _NEVER)
        return await self._sync_claimed_at(account_id, now)

    # --- the loops ----------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Activate accounts the settings mark active, then run the three loops."""
        await self._activate_from_settings()
        check = max(0.05, min(30.0, self._full_sync.total_seconds() / 4))
        async with asyncio.TaskGroup() as group:
            group.create_task(
                self._loop(
                    stop,
                    self.project_once,
                    "projector",
                    linger=PROJECTOR_LINGER_SECONDS,
                )
            )
            group.create_task(self._loop(stop, self.collect_once, "collector"))
            group.create_task(self._loop(stop, self.sync_due, "full_sync", check))

    async def project_once(self) -> int:
        """Project the next page of order and product events; how many."""
        start = await self._store.position()
        # Read before the page: every event up to `latest` is committed, so a
        # page that is not full holds every followed event up to it, and the
        # cursor may pass the events of other kinds there (retention keeps
        # what the projector has not passed).
        latest = await self._events.last_cursor()
        page = await self._events.read_after(
            start, accounts=None, types=_FOLLOWED, limit=PROJECTOR_PAGE
        )
        full = len(page) == PROJECTOR_PAGE
        end = page[-1].cursor if full else max(latest, page[-1].cursor if page else 0)
        if not page:
            if latest - start >= PROJECTOR_PAGE:
                await self._pass_to(start, latest)
            return 0
        now = self._clock()
        async with self._store.transaction() as txn:
            if await txn.position() != start:
                return 0  # another replica projected this page meanwhile
            touched, pushed = await _project(txn, page)
            emitted = 0
            for account_id, external_nos in touched.items():
                outcome = await txn.settle(account_id, external_nos, now)
                emitted += outcome.events
            for account_id, external_nos in pushed.items():
                outcome = await txn.settle(account_id, external_nos, now, push=True)
                emitted += outcome.events
            await txn.move_to(end)
        STOCK_EVENTS.labels("order").inc(emitted)
        return len(page)

    async def _pass_to(self, start: int, latest: int) -> None:
        """Move the cursor over events the projector does not follow."""
        async with self._store.transaction() as txn:
            if await txn.position() == start:
                await txn.move_to(latest)

    async def collect_once(self) -> int:
        """Apply and acknowledge every new `stockstatus` message; how many."""
        handled = 0
        for account_id in self._accounts():
            gateway = self._gateway_for(account_id)
            if gateway is None or not self._pacer.due(account_id, gateway):
                continue
            try:
                handled += await self._collect(account_id, gateway)
            except BoltricsError as exc:
                _log.warning("stock.collect_failed", account=account_id, error=str(exc))
        return handled

    async def sync_due(self) -> int:
        """Run the full sync of every account whose last one is older than the
        interval; how many accounts were synchronised."""
        done = 0
        for account_id in self._accounts():
            if self._gateway_for(account_id) is None:
                continue
            now = self._clock()
            if not await self._store.claim_full_sync(
                account_id, now, now - self._full_sync
            ):
                continue
            with contextlib.suppress(BoltricsError):
                await self._sync_claimed_at(account_id, now)
                done += 1
        return done

    # --- internals ----------------------------------------------------------

    def _known_account(self, account_id: str) -> Account:
        account = self._account_for(account_id)
        if account is None:
            msg = f"account {account_id} is not known"
            raise NotFound(msg, metadata={"account": account_id})
        return account

    async def _loop(
        self,
        stop: asyncio.Event,
        step: Callable[[], Awaitable[int]],
        name: str,
        every: float | None = None,
        *,
        linger: float = 0.0,
    ) -> None:
        while not stop.is_set():
            try:
                busy = await step()
            except Exception:
                _log.exception("stock.round_failed", loop=name)
                busy = 0
            if not (busy and every is None):
                await _pause(stop, self._events, every or self._poll_seconds, name)
            if linger and busy < PROJECTOR_PAGE:
                await _linger(stop, linger)

    async def _activate_from_settings(self) -> None:
        for account_id in self._accounts():
            account = self._account_for(account_id)
            if account is None or not account.stock_active:
                continue
            if await self._store.active(account_id):
                continue
            try:
                await self.activate(account_id)
            except Exception:
                _log.exception("stock.activation_failed", account=account_id)

    async def _push_all(self, account_id: str) -> int:
        pushed, after = 0, ""
        while page := await self._store.known_page(account_id, after, PAGE):
            async with self._store.transaction() as txn:
                outcome = await txn.settle(account_id, page, self._clock(), push=True)
            pushed += outcome.events
            after = page[-1]
        return pushed

    async def _levels(
        self,
        account_id: str,
        changed_since: datetime | None,
        external_nos: Sequence[str] | None,
    ) -> AsyncIterator[StockLevelView]:
        if external_nos is not None:
            wanted = sorted(set(external_nos))
            for start in range(0, len(wanted), PAGE):
                part = wanted[start : start + PAGE]
                for view in await self._store.level_page(
                    account_id, after="", limit=len(part), among_nos=part
                ):
                    yield view
            return

        after = ""
        while page := await self._store.level_page(
            account_id, after=after, limit=PAGE, changed_since=changed_since
        ):
            for view in page:
                yield view
            after = page[-1].external_no

    async def _collect(self, account_id: str, gateway: BoltricsGateway) -> int:
        messages = [
            message
            async for message in gateway.list_messages(
                direction=Direction.OUTBOUND,
                status=MessageStatus.NEW,
                message_type=MessageType.STOCK_STATUS,
            )
        ]
        for message in messages:
            await self._apply_message(account_id, message)
            await gateway.acknowledge(message)
        return len(messages)

    async def _apply_message(self, account_id: str, message: DiMessage) -> None:
        try:
            status = parse_stock_status(message.content)
        except DocumentError as exc:
            _log.error(
                "stock.message_unreadable",
                account=account_id,
                message_id=message.id,
                error=exc.message,
            )
            return

        figures: dict[str, Figure] = {}
        rejected = [(item.external_no, item.reason) for item in status.rejected]
        for item in status.items:
            figure = _whole_figure(item, status.header.created_at)
            if figure is None:
                rejected.append((item.external_no, "quantity is not a whole number"))
            else:
                figures[item.external_no] = figure
        for external_no, reason in rejected:
            _log.warning(
                "stock.item_rejected",
                account=account_id,
                message_id=message.id,
                external_no=external_no,
                reason=reason,
            )
        STOCK_REJECTED.inc(len(rejected))

        async with self._store.transaction() as txn:
            outcome = await txn.settle(account_id, (), self._clock(), figures)
        STOCK_EVENTS.labels("stockstatus").inc(outcome.events)
        if outcome.unknown:
            _log.warning(
                "stock.unknown_items_kept",
                account=account_id,
                external_nos=outcome.unknown,
            )
        _log.info(
            "stock.status_applied",
            account=account_id,
            message_id=message.id,
            items=len(figures),
            rejected=len(rejected),
            changed=outcome.events,
        )

    async def _sync_page(
        self,
        txn: StockTransaction,
        account_id: str,
        rows: Sequence[StockLevel],
        as_of: datetime,
    ) -> Outcome:
        quantities = [
            (row.external_no, row.qty_available, row.qty_in_inventory) for row in rows
        ]
        same = await txn.redate_unchanged(account_id, quantities, as_of)
        rest = {
            row.external_no: _sync_figure(row, as_of)
            for row in rows
            if row.external_no not in same
        }
        return await txn.settle(account_id, (), self._clock(), rest)

    async def _sync_claimed_at(
        self, account_id: str, claimed_at: datetime
    ) -> SyncReport:
        """The sync claimed at `claimed_at`; when Boltrics fails it, the claim
        is dated back so that the sync is due again soon, not after a whole
        interval, and the error raised."""
        try:
            return await self._sync_claimed(account_id)
        except BoltricsError as exc:
            retry = min(FULL_SYNC_RETRY, self._full_sync)
            await self._store.unclaim_full_sync(
                account_id, claimed_at, claimed_at - self._full_sync + retry
            )
            _log.warning(
                "stock.full_sync_failed",
                account=account_id,
                error=str(exc),
                retry_in_seconds=retry.total_seconds(),
            )
            raise

    async def _zero_unlisted(self, account_id: str, started: datetime) -> Outcome:
        """After a complete sync, the levels Boltrics listed no more: Boltrics
        lists every item the warehouse knows, so one it dropped (removed,
        blocked) has nothing to ship, and its last figure must not go on
        selling. A sync that listed nothing zeroes nothing (an empty answer
        is more likely a fault)."""
        total = Outcome()
        unlisted = await self._store.figures_before(account_id, started)
        for start in range(0, len(unlisted), PAGE):
            part = unlisted[start : start + PAGE]
            async with self._store.transaction() as txn:
                zero = {no: Figure(0, 0, started) for no in part}
                outcome = await txn.settle(account_id, (), self._clock(), zero)
            total.drifted += outcome.drifted
            total.events += outcome.events
        if unlisted:
            _log.warning(
                "stock.unlisted_zeroed",
                account=account_id,
                count=len(unlisted),
                external_nos=unlisted[:10],
            )
        return total

    async def _dated(
        self, pages: AsyncIterator[list[StockLevel]]
    ) -> AsyncIterator[tuple[list[StockLevel], datetime]]:
        """Each page with the moment just before it was asked for: Boltrics
        read it later, so it includes every order processed before then (a
        long sync's last pages settle orders processed since it began).
        Dated to the second, as Boltrics dates stockstatus: else a message of
        the same second would look older than the page and be ignored."""
        asked = self._clock().replace(microsecond=0)
        async for page in pages:
            yield page, asked
            asked = max(asked, self._clock().replace(microsecond=0))

    async def _sync_claimed(self, account_id: str) -> SyncReport:
        gateway = self._gateway_for(account_id)
        if gateway is None:
            msg = f"account {account_id} has no Boltrics connection"
            raise NotFound(msg, metadata={"account": account_id})
        began, started = time.monotonic(), self._clock().replace(microsecond=0)
        levels = drifted = changed = 0
        pages = read_ahead(self._dated(gateway.stock_level_pages(page_size=PAGE)))
        coming = asyncio.ensure_future(anext(pages, None))
        try:
            while (dated := await coming) is not None:
                # Pages share a commit (and its sync to disk) while the next
                # one is at hand; a page slow to come does not hold the
                # store's lock.
                async with self._store.transaction() as txn:
                    for taken in range(1, PAGES_PER_COMMIT + 1):
                        rows, as_of = dated
                        outcome = await self._sync_page(txn, account_id, rows, as_of)
                        levels += len(rows)
                        drifted += outcome.drifted
                        changed += outcome.events
                        coming = asyncio.ensure_future(anext(pages, None))
                        if taken == PAGES_PER_COMMIT:
                            break
                        await asyncio.wait({coming}, timeout=PAGE_WAIT_SECONDS)
                        if not coming.done() or coming.exception() is not None:
                            break
                        if (dated := coming.result()) is None:
                            break
        finally:
            coming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await coming
            await pages.aclose()
        if levels:
            outcome = await self._zero_unlisted(account_id, started)
            drifted += outcome.drifted
            changed += outcome.events
        else:
            _log.error("stock.full_sync_listed_nothing", account=account_id)
        report = SyncReport(
            account_id, levels, drifted, changed, time.monotonic() - began
        )
        STOCK_DRIFT.inc(drifted)
        STOCK_EVENTS.labels("full_sync").inc(changed)
        _log.info(
            "stock.full_sync_finished",
            account=account_id,
            levels=levels,
            drifted=drifted,
            changed=changed,
            seconds=round(report.seconds, 3),
        )
        return report


async def _project(
    txn: StockTransaction, page: Sequence[Event]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Apply a page of events to the holds: the levels touched, and those of
    products that became known (to push), per account."""
    touched: dict[str, set[str]] = defaultdict(set)
    products: dict[str, list[str]] = defaultdict(list)
    for event in page:
        if event.type is EventType.PRODUCT_CHANGED:
            external_no = str(event.payload.get("external_no", ""))
            if external_no:
                products[event.account_id].append(external_no)
            continue
        if event.type is EventType.ORDER_SHIPPED:
            # Its payload is the shipment's result, not the order; Boltrics
            # ships only what it processed.
            shipped = str(event.payload.get("order_id", ""))
            if shipped:
                touched[event.account_id] |= await txn.mark_processed(
                    event.account_id, shipped, event.time
                )
            continue
        try:
            record = OrderRecord.model_validate(event.payload)
        except ValidationError as exc:
            # Skipped, not retried: the same page would fail for ever, and
            # every order after it would hold nothing.
            _log.error(
                "stock.event_unreadable",
                account=event.account_id,
                cursor=event.cursor,
                type=event.type.value,
                error=str(exc).splitlines()[0],
            )
            continue
        touched[event.account_id] |= await _project_order(txn, record, event.time)
    pushed = {
        account_id: await txn.forget_unknown(account_id, external_nos)
        for account_id, external_nos in products.items()
    }
    return touched, pushed


async def _project_order(
    txn: StockTransaction, record: OrderRecord, moment: datetime
) -> set[str]:
    order_id = record.order.order_id
    stage = hold_stage(record.state)
    if stage is HoldStage.OPEN:
        return await txn.replace_holds(
            record.account_id, order_id, quantities_of(record)
        )
    if stage is HoldStage.PROCESSED:
        return await txn.mark_processed(record.account_id, order_id, moment)
    return await txn.drop_holds(record.account_id, order_id)


def _whole_figure(item: StockStatusItem, as_of: datetime) -> Figure | None:
    if item.qty_available != item.qty_available.to_integral_value():
        return None
    if item.qty_in_inventory != item.qty_in_inventory.to_integral_value():
        return None
    return Figure(int(item.qty_available), int(item.qty_in_inventory), as_of)


def _sync_figure(row: StockLevel, as_of: datetime) -> Figure:
    # The page was read after `as_of`: it includes every order processed before.
    return Figure(row.qty_available, row.qty_in_inventory, as_of)


async def _linger(stop: asyncio.Event, seconds: float) -> None:
    # Orders come one by one; projecting each at once costs one stock
    # transaction per order and starves the calls that take them. A short
    # wait lets a round take every event of that moment in one transaction.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _pause(
    stop: asyncio.Event, events: SqlEventLog, seconds: float, name: str
) -> None:
    if name == "projector":
        # New events of this process wake the projector at once.
        waiter = asyncio.create_task(events.signal.wait(seconds))
    else:
        waiter = asyncio.create_task(asyncio.sleep(seconds))
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in (waiter, stopper):
        task.cancel()
