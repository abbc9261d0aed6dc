"""The product sender: queued products to Boltrics, batched, each message once.

Waiting products are put into `materialmasterdata` messages of up to 500
items per account, INSERT and UPDATE apart. A message is claimed for a lease
and its attempt counted and committed before it is posted; an attempt after
the first looks the message up by its `externalReference` before posting, so
a crash between a post and its record never makes two messages.

Boltrics' verdict is followed without a request per product or message: each
round lists the account's pending `materialmasterdata` messages (New, then
Processing), then its Failed and Skipped ones. A sent message that is not
pending has been decided: it failed if a list read after the pending ones
holds it, else Boltrics processed it. When an INSERT is processed, the
`on_created` hook gets the ExternalNos; it runs at least once, across
crashes, since the message waits in its own state until the hook returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from prometheus_client import Counter

from service.adapters.boltrics import (
    BoltricsError,
    BoltricsGateway,
    BoltricsNotFound,
    BoltricsRejected,
    CustomerItem,
    DiMessage,
    Direction,
    DocumentError,
    Header,
    MaterialMasterData,
    MessageStatus,
    MessageType,
    ProcessAction,
    build_material_master_data,
)
from service.adapters.boltrics.documents import MAX_MESSAGE_PAGE
from service.adapters.store.products import (
    Batch,
    BatchItem,
    BatchState,
    SqlProductStore,
    product_event,
)
from service.config import Account, BoltricsConnection
from service.domain.orders import unknown_items
from service.domain.products import ProductState, SendAction
from service.logging import get_logger

_log = get_logger(__name__)

PRODUCT_SENDS = Counter(
    "connector_product_sends_total",
    "Products in materialmasterdata messages, by outcome "
    "(sent, created, updated, failed, retried).",
    ["outcome"],
)

MAX_ITEMS = 500
MAX_BACKOFF_SECONDS = 600.0
#: Well inside the default lease of 60 s (see `_post_due`).
SEND_BUDGET_SECONDS = 45.0

OnCreated = Callable[[str, set[str]], Awaitable[object]]
GatewayFor = Callable[[str], BoltricsGateway | None]
AccountFor = Callable[[str], Account | None]


class ProductSender:
    """Forms, posts and follows up the product messages of every account."""

    def __init__(
        self,
        store: SqlProductStore,
        gateway_for: GatewayFor,
        account_for: AccountFor,
        on_created: OnCreated,
        *,
        clock: Callable[[], datetime],
        linger: timedelta,
        verdict_poll: timedelta,
        lease: timedelta,
        concurrency: int = 4,
    ):
        self._store = store
        self._gateway_for = gateway_for
        self._account_for = account_for
        self._on_created = on_created
        self._clock = clock
        self._linger = linger
        self._verdict_poll = verdict_poll
        self._verdicts = VerdictReader()
        self._lease = lease
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._syncing = 0
        self._next_verdicts = 0.0

    def wake(self) -> None:
        """Look for waiting products now."""
        self._wake.set()

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """While a sync writes its products, only full messages are formed, so
        that a sync becomes as few messages as its size allows."""
        self._syncing += 1
        try:
            yield
        finally:
            self._syncing -= 1
            self.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Send and follow up until `stop` is set."""
        released = not self._store.is_sqlite
        while not stop.is_set():
            try:
                if not released:
                    await self._store.release_all_claims()
                    released = True
                busy = await self.pump()
            except Exception:
                _log.exception("product_sender.round_failed")
                busy = False
            if not busy:
                await self._idle(stop)

    async def pump(self, *, force: bool = False) -> bool:
        """One round: form messages, post due ones, follow verdicts, run hooks.

        `force` forms partial messages at once and follows verdicts now.
        Returns whether a message was formed or posted.
        """
        formed = await self._form_batches(force=force)
        posted = await self._post_due()
        if force or time.monotonic() >= self._next_verdicts:
            self._next_verdicts = time.monotonic() + self._verdict_poll.total_seconds()
            await self._follow_verdicts()
        await self._run_hooks()
        return bool(formed or posted)

    async def _idle(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        timeout = min(self._linger, self._verdict_poll).total_seconds()
        waiter = asyncio.create_task(self._wake.wait())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait(
            {waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        stopper.cancel()

    # --- forming messages -------------------------------------------------

    async def _form_batches(self, *, force: bool) -> int:
        now = self._clock()
        formed = 0
        for group in await self._store.waiting():
            count = group.count // MAX_ITEMS
            lingered = now - group.oldest >= self._linger and not self._syncing
            if group.count % MAX_ITEMS and (force or lingered):
                count += 1
            for _ in range(count):
                async with self._store.transaction(group.account_id) as txn:
                    batch = await txn.form_batch(
                        group.action, MAX_ITEMS, now, str(uuid.uuid4())
                    )
                if batch is None:
                    break
                formed += 1
                _log.info(
                    "product_batch.formed",
                    account=batch.account_id,
                    reference=batch.reference,
                    action=batch.action.value,
                    items=len(batch.items),
                )
        return formed

    # --- posting ------------------------------------------------------------

    async def _post_due(self) -> int:
        # No more claims than posts at once: a claim that waited for a free
        # slot could outlive its lease and be posted by another replica too.
        claims = await self._store.claim_due(
            self._clock(), limit=self._concurrency, lease=self._lease
        )
        await asyncio.gather(*(self._post_guarded(batch) for batch in claims))
        return len(claims)

    async def _post_guarded(self, batch: Batch) -> None:
        try:
            await self._post(batch)
        except Exception:
            _log.exception(
                "product_batch.post_crashed",
                account=batch.account_id,
                reference=batch.reference,
            )

    async def _post(self, batch: Batch) -> None:
        gateway = self._gateway_for(batch.account_id)
        account = self._account_for(batch.account_id)
        if gateway is None or account is None or account.boltrics is None:
            await self._retry_later(batch, "the account has no Boltrics connection")
            return

        deadline = time.monotonic() + SEND_BUDGET_SECONDS
        try:
            message = await self._post_once(gateway, batch, account.boltrics, deadline)
        except (BoltricsRejected, DocumentError) as exc:
            await self._settle(batch, error=f"Boltrics refused the message: {exc}")
        except BoltricsError as exc:
            await self._retry_later(batch, exc.message)
        else:
            await self._sent(batch, message)

    async def _post_once(
        self,
        gateway: BoltricsGateway,
        batch: Batch,
        connection: BoltricsConnection,
        deadline: float,
    ) -> DiMessage:
        if batch.attempts > 1:
            earlier = await gateway.find_by_reference(
                batch.reference,
                message_type=MessageType.MATERIAL_MASTER_DATA,
                deadline=deadline,
            )
            if earlier is not None:
                _log.info(
                    "product_batch.earlier_post_found",
                    account=batch.account_id,
                    reference=batch.reference,
                    message_id=earlier.id,
                )
                return earlier
        return await gateway.submit(
            MessageType.MATERIAL_MASTER_DATA,
            batch.reference,
            material_master_data_xml(batch, connection),
            deadline=deadline,
        )

    async def _sent(self, batch: Batch, message: DiMessage) -> None:
        async with self._store.transaction(batch.account_id) as txn:
            locked = await txn.lock_batch(batch.batch_id)
            if locked is None or locked[0] != BatchState.QUEUED:
                return
            await txn.mark_sent(batch.batch_id, message.id)
        PRODUCT_SENDS.labels("sent").inc(len(batch.items))
        _log.info(
            "product_batch.sent",
            account=batch.account_id,
            reference=batch.reference,
            message_id=message.id,
            action=batch.action.value,
            items=len(batch.items),
            attempts=batch.attempts,
        )

    async def _retry_later(self, batch: Batch, error: str) -> None:
        wait = min(MAX_BACKOFF_SECONDS, 2.0 ** min(batch.attempts, 12))
        wait *= random.uniform(0.5, 1.0)
        await self._store.reschedule(
            batch.batch_id, self._clock() + timedelta(seconds=wait), error
        )
        PRODUCT_SENDS.labels("retried").inc(len(batch.items))
        _log.warning(
            "product_batch.retry_scheduled",
            account=batch.account_id,
            reference=batch.reference,
            attempts=batch.attempts,
            wait_seconds=round(wait, 1),
            error=error,
        )

    # --- verdicts -------------------------------------------------------------

    async def _follow_verdicts(self) -> None:
        by_account: dict[str, list[Batch]] = defaultdict(list)
        for batch in await self._store.batches_in(BatchState.SENT):
            by_account[batch.account_id].append(batch)

        for account_id, batches in by_account.items():
            gateway = self._gateway_for(account_id)
            if gateway is None:
                continue
            try:
                verdicts = await self._verdicts.decided(account_id, gateway, batches)
            except BoltricsError as exc:
                _log.warning(
                    "product_verdicts.unavailable",
                    account=account_id,
                    error=exc.message,
                )
                continue
            for batch, error in verdicts:
                await self._settle(batch, error=error)

    async def _settle(self, batch: Batch, *, error: str | None) -> None:
        """Apply Boltrics' verdict: None means processed, else the error text."""
        created = error is None and batch.action is SendAction.INSERT
        async with self._store.transaction(batch.account_id) as txn:
            locked = await txn.lock_batch(batch.batch_id)
            if locked is None or locked[0] not in (BatchState.QUEUED, BatchState.SENT):
                return
            settled, changed = await txn.batch_members(batch.batch_id)
            innocent: list[str] = []
            if error is None:
                await txn.set_states(
                    settled, state=ProductState.CREATED, in_boltrics=True, last_error=""
                )
                await txn.set_states(changed, in_boltrics=True)
            else:
                settled, changed, innocent = split_blame(error, settled, changed)
                await txn.set_states(
                    settled, state=ProductState.FAILED, last_error=error
                )
                await txn.set_states(changed, last_error=error)
                await txn.send_again(batch.batch_id, innocent)
            # An UPDATE of items Boltrics says it does not have (their INSERT's
            # message was lost, or the warehouse dropped them): they are sent
            # as an INSERT next, or they could never come back.
            gone = (
                unknown_items(error, settled + changed)
                if error is not None and batch.action is SendAction.UPDATE
                else []
            )
            await txn.set_states(gone, in_boltrics=False)
            await txn.settle_batch(
                batch.batch_id,
                state=BatchState.HOOK if created else BatchState.DONE,
                created=error is None,
                error=error or "",
            )
            await txn.send_as_insert(gone)
            views = await txn.views(settled + changed)
            await txn.emit([product_event(view, batch.account_id) for view in views])
        _log_verdict(batch, error, failed=len(settled) + len(changed), again=innocent)

    async def _run_hooks(self) -> None:
        for batch in await self._store.batches_in(BatchState.HOOK):
            try:
                await self._on_created(batch.account_id, batch.external_nos)
            except Exception:
                _log.exception(
                    "product_batch.hook_failed",
                    account=batch.account_id,
                    reference=batch.reference,
                )
                continue
            await self._store.finish_hook(batch.batch_id)


class VerdictReader:
    """Boltrics' verdicts on sent messages, in as few requests as it can.

    Pending messages (New, then Processing) are listed first, so that a
    message failing between the reads is still seen as failed. A message not
    pending has been decided: it failed if the Failed or Skipped list holds
    it, and was processed otherwise. Those two lists keep every message ever
    and cannot be filtered by date, so a round in which nothing was decided
    does not read them, and one that decided fewer messages than they had
    pages the last time reads those few by id instead.
    """

    def __init__(self) -> None:
        self._failed_pages: dict[str, int] = {}

    async def decided(
        self, account_id: str, gateway: BoltricsGateway, batches: list[Batch]
    ) -> list[tuple[Batch, str | None]]:
        """The decided messages among `batches`, each with None (processed) or
        why it failed."""
        pending: set[str] = set()
        for status in (MessageStatus.NEW, MessageStatus.PROCESSING):
            pending |= {message.id async for message in _listed(gateway, status)}
        decided = [batch for batch in batches if batch.message_id not in pending]
        if not decided:
            return []
        if len(decided) < self._failed_pages.get(account_id, 1):
            return await _read_each(gateway, decided)
        failed: dict[str, str] = {}
        pages = 0
        for status in (MessageStatus.FAILED, MessageStatus.SKIPPED):
            listed = {
                message.id: _failure(message)
                async for message in _listed(gateway, status)
            }
            pages += max(1, math.ceil(len(listed) / MAX_MESSAGE_PAGE))
            failed |= listed
        self._failed_pages[account_id] = pages
        return [(batch, failed.get(batch.message_id)) for batch in decided]


async def _read_each(
    gateway: BoltricsGateway, decided: list[Batch]
) -> list[tuple[Batch, str | None]]:
    """The verdicts of messages read one by one; one Boltrics no longer has
    counts as processed, as the lists would have it (an UPDATE that finds its
    item missing later sends it again as an INSERT)."""
    verdicts: list[tuple[Batch, str | None]] = []
    for batch in decided:
        try:
            message = await gateway.get_message(batch.message_id)
        except BoltricsNotFound:
            verdicts.append((batch, None))
            continue
        if message.status in (MessageStatus.FAILED, MessageStatus.SKIPPED):
            verdicts.append((batch, _failure(message)))
        elif message.status not in (MessageStatus.NEW, MessageStatus.PROCESSING):
            verdicts.append((batch, None))
    return verdicts


def _failure(message: DiMessage) -> str:
    return message.error_text or f"Boltrics {message.status.lower()} it"


def _listed(
    gateway: BoltricsGateway, status: MessageStatus
) -> AsyncIterator[DiMessage]:
    return gateway.list_messages(
        direction=Direction.INBOUND,
        status=status,
        message_type=MessageType.MATERIAL_MASTER_DATA,
    )


def split_blame(
    error: str, settled: list[str], changed: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """The members a failed message's error names (unchanged since, changed
    again), and the unchanged others, to go out again without them.

    Boltrics fails a whole message for one bad item, naming it ("Item SKU-9
    does not exist"): the others are not to blame, and are sent again in a
    later message. When the text names none of the members, all share it.
    """
    named = {no for no in (*settled, *changed) if _names(error, no)}
    if not named:
        return settled, changed, []
    return (
        [no for no in settled if no in named],
        [no for no in changed if no in named],
        [no for no in settled if no not in named],
    )


def _names(error: str, external_no: str) -> bool:
    """Whether the text names the ExternalNo whole: between its start or a
    separator and its end, a separator or a full stop (an ExternalNo may
    hold spaces or punctuation itself; "SKU-1" is not named by "SKU-10")."""
    start = error.find(external_no)
    while start != -1:
        end = start + len(external_no)
        before_ok = start == 0 or error[start - 1] in _SEPARATORS
        after = error[end : end + 2]
        after_ok = (
            not after
            or after[0] in _SEPARATORS
            or (after[0] in ".!?" and (len(after) == 1 or after[1] in _SEPARATORS))
        )
        if before_ok and after_ok:
            return True
        start = error.find(external_no, start + 1)
    return False


#: What may stand around an ExternalNo named in an error text.
_SEPARATORS = frozenset(" \t\r\n,;:'\"()[]")


def _log_verdict(
    batch: Batch, error: str | None, *, failed: int = 0, again: Sequence[str] = ()
) -> None:
    items = len(batch.items)
    if error is None:
        outcome = "created" if batch.action is SendAction.INSERT else "updated"
        PRODUCT_SENDS.labels(outcome).inc(items)
        _log.info(
            "product_batch.processed",
            account=batch.account_id,
            reference=batch.reference,
            message_id=batch.message_id or None,
            action=batch.action.value,
            items=items,
        )
        return
    PRODUCT_SENDS.labels("failed").inc(failed)
    _log.warning(
        "product_batch.failed",
        account=batch.account_id,
        reference=batch.reference,
        message_id=batch.message_id or None,
        action=batch.action.value,
        items=items,
        failed=failed,
        sent_again=len(again),
        error=error,
    )


def material_master_data_xml(batch: Batch, connection: BoltricsConnection) -> bytes:
    """The `materialmasterdata` document of a message."""
    header = Header.new(
        connection.our_partner,
        connection.warehouse_partner,
        action=ProcessAction(batch.action.value),
    )
    items = tuple(_customer_item(item) for item in batch.items)
    return build_material_master_data(MaterialMasterData(header=header, items=items))


def _customer_item(item: BatchItem) -> CustomerItem:
    return CustomerItem(
        external_no=item.external_no,
        description=item.description,
        gross_weight=Decimal(repr(item.weight_kg)) if item.weight_kg else None,
        ean_code=item.barcode or None,
    )
