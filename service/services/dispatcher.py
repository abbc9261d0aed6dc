"""The order dispatcher: sends queued orders to Boltrics, each exactly once.

An order is claimed for a lease, its attempt is counted and committed, and
only then posted. If the process dies after a post and before the post is
recorded, the next attempt sees the counted attempt and first looks the
message up by its `externalReference`; so the same order never becomes two
Boltrics messages. Replicas on PostgreSQL claim with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from service.adapters.boltrics import (
    BoltricsError,
    BoltricsGateway,
    BoltricsRejected,
    BoltricsUnavailable,
    DiMessage,
    MessageType,
)
from service.adapters.store.orders import ClaimedSend, SqlOrderStore
from service.config import Account, OrderSettings
from service.domain.events import EventType
from service.domain.orders import OrderRecord, OrderState, TimelineEntry, TimelineKind
from service.logging import get_logger
from service.metrics import ORDER_QUEUE_DEPTH, ORDERS_SENT
from service.services.orders import order_event, utc_now
from service.services.shipment_orders import shipment_order_xml

_log = get_logger(__name__)

#: A claimed send must be done before its lease ends, or another claim may
#: post it again: so a send starts the moment it is claimed (no more are
#: claimed than can run at once), and its budget is well inside the lease.
LEASE = timedelta(seconds=60)
SEND_BUDGET_SECONDS = 45.0
LOOKUP_BUDGET_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 600.0
STOP_GRACE_SECONDS = 5.0


class OrderDispatcher:
    """Claims due sends and posts them to Boltrics, concurrently and rate-limited."""

    def __init__(
        self,
        store: SqlOrderStore,
        gateway_for: Callable[[str], BoltricsGateway | None],
        account_for: Callable[[str], Account | None],
        settings: OrderSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        concurrency: int = 16,
    ):
        self._store = store
        self._gateway_for = gateway_for
        self._account_for = account_for
        self._settings = settings
        self._clock = clock
        self._wake = asyncio.Event()
        self._concurrency = concurrency
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for due sends now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; then let sends in flight finish."""
        if self._store.is_sqlite:
            await self._store.release_all_claims()
        while not stop.is_set():
            try:
                if await self._claim() == 0:
                    await self._idle(stop)
            except Exception:
                # The store is away (a PostgreSQL restart, say): try again soon.
                _log.exception("dispatcher.claim_failed")
                await _pause(stop, 1.0)
        await self._finish_in_flight(STOP_GRACE_SECONDS)

    async def _finish_in_flight(self, grace: float) -> None:
        """Let sends in flight finish for `grace` seconds, then cancel the rest.

        Cancelling is safe: the attempt was counted before the post, so the next
        claim looks the message up before posting again.
        """
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(self._in_flight, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            _log.info("dispatcher.sends_cancelled", count=len(pending))

    async def drain_once(self) -> None:
        """Claim and send everything due now, then return (for tests and tools)."""
        while await self._claim():
            pass
        if self._in_flight:
            await asyncio.wait(self._in_flight)

    async def _idle(self, stop: asyncio.Event) -> None:
        ORDER_QUEUE_DEPTH.set(await self._store.queue_depth())
        self._wake.clear()
        waiter = asyncio.create_task(self._wake.wait())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait(
            {waiter, stopper}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        stopper.cancel()

    async def _claim(self) -> int:
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        claims = await self._store.claim_due(self._clock(), limit=free, lease=LEASE)
        for claim in claims:
            task = asyncio.create_task(self._send_guarded(claim))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claims)

    async def _send_guarded(self, claim: ClaimedSend) -> None:
        try:
            await self._send(claim)
        except Exception:
            _log.exception(
                "dispatcher.send_crashed",
                account=claim.account_id,
                order_id=claim.order_id,
            )

    async def _send(self, claim: ClaimedSend) -> None:
        # From the claim on: reading the order counts against the lease too.
        deadline = time.monotonic() + SEND_BUDGET_SECONDS
        record = await self._store.get(claim.account_id, claim.order_id)
        if record is None or record.state is not OrderState.QUEUED:
            async with self._store.transaction() as txn:
                await txn.dequeue(claim.account_id, claim.order_id)
            return

        gateway = self._gateway_for(claim.account_id)
        account = self._account_for(claim.account_id)
        if gateway is None or account is None or account.boltrics is None:
            await self._transient(
                claim, record, "the account has no Boltrics connection", None
            )
            return

        try:
            message = await self._post_once(gateway, record, claim, account, deadline)
        except BoltricsRejected as exc:
            await self._rejected(claim, record, exc.message)
        except BoltricsError as exc:
            await self._transient(claim, record, exc.message, gateway)
        else:
            await self._sent(claim, record, message)

    async def _post_once(
        self,
        gateway: BoltricsGateway,
        record: OrderRecord,
        claim: ClaimedSend,
        account: Account,
        deadline: float,
    ) -> DiMessage:
        if claim.attempts > 1:
            try:
                earlier = await gateway.find_by_reference(
                    record.message_key,
                    message_type=MessageType.RECEIVE_SHIPMENT,
                    deadline=deadline,
                )
            except BoltricsRejected as exc:
                # A refused look-up says nothing about the earlier post, which
                # may be in Boltrics: try again later, never fail the order
                # (a retry of a failed order posts under a new reference).
                msg = f"looking up the earlier post: {exc.message}"
                raise BoltricsUnavailable(msg) from exc
            if earlier is not None:
                _log.info(
                    "order.earlier_post_found",
                    account=record.account_id,
                    order_id=record.order.order_id,
                    message_id=earlier.id,
                )
                return earlier
        assert account.boltrics is not None
        xml = shipment_order_xml(record, account.boltrics)
        return await gateway.submit(
            MessageType.RECEIVE_SHIPMENT, record.message_key, xml, deadline=deadline
        )

    async def _sent(
        self, claim: ClaimedSend, record: OrderRecord, message: DiMessage
    ) -> None:
        now = self._clock()
        async with self._store.transaction() as txn:
            current = await txn.lock(claim.account_id, claim.order_id)
            if current is None or current.generation != record.generation:
                return
            if current.state is not OrderState.QUEUED:
                # Shipped while the post was under way: Boltrics has it, and
                # the order has gone further than SENT.
                await txn.dequeue(claim.account_id, claim.order_id)
                return
            sent = current.change(
                state=OrderState.SENT,
                message_id=message.id,
                last_error="",
                updated_at=now,
            )
            await txn.save(sent)
            await txn.add_timeline(
                sent.account_id,
                sent.order.order_id,
                [
                    TimelineEntry(
                        time=now,
                        kind=TimelineKind.SENT,
                        message=f"sent to Boltrics as message {message.id}",
                    )
                ],
            )
            await txn.dequeue(claim.account_id, claim.order_id)
            await txn.emit([order_event(EventType.ORDER_SENT, sent)])
        ORDERS_SENT.labels("sent").inc()
        _log.info(
            "order.sent",
            account=claim.account_id,
            order_id=claim.order_id,
            message_id=message.id,
            attempts=claim.attempts,
        )

    async def _rejected(
        self, claim: ClaimedSend, record: OrderRecord, error: str
    ) -> None:
        message = f"Boltrics refused it: {error}"
        await self._give_up(claim, record, OrderState.FAILED, error, message)
        ORDERS_SENT.labels("rejected").inc()
        _log.warning(
            "order.rejected",
            account=claim.account_id,
            order_id=claim.order_id,
            error=error,
        )

    async def _transient(
        self,
        claim: ClaimedSend,
        record: OrderRecord,
        error: str,
        gateway: BoltricsGateway | None,
    ) -> None:
        now = self._clock()
        give_up_at = claim.first_attempt_at + timedelta(
            seconds=self._settings.retry_for_seconds
        )
        if now >= give_up_at:
            # The last post may have arrived with its answer lost: an order
            # that Boltrics has is not dead.
            earlier = await _look_up(gateway, record)
            if earlier is not None:
                await self._sent(claim, record, earlier)
            else:
                await self._dead(claim, record, error)
            return

        delay = backoff_seconds(claim.attempts)
        async with self._store.transaction() as txn:
            await txn.reschedule(
                claim.account_id, claim.order_id, now + timedelta(seconds=delay), error
            )
        ORDERS_SENT.labels("retry_scheduled").inc()
        _log.warning(
            "order.retry_scheduled",
            account=claim.account_id,
            order_id=claim.order_id,
            attempts=claim.attempts,
            delay_seconds=round(delay, 2),
            error=error,
        )

    async def _dead(self, claim: ClaimedSend, record: OrderRecord, error: str) -> None:
        message = f"gave up after {claim.attempts} attempts: {error}"
        await self._give_up(claim, record, OrderState.DEAD, error, message)
        ORDERS_SENT.labels("dead").inc()
        _log.error(
            "order.dead",
            account=claim.account_id,
            order_id=claim.order_id,
            attempts=claim.attempts,
            error=error,
        )

    async def _give_up(
        self,
        claim: ClaimedSend,
        record: OrderRecord,
        state: OrderState,
        error: str,
        message: str,
    ) -> None:
        """Take the order off the queue as FAILED or DEAD, and say so."""
        now = self._clock()
        kind = TimelineKind.DEAD if state is OrderState.DEAD else TimelineKind.FAILED
        async with self._store.transaction() as txn:
            current = await txn.lock(claim.account_id, claim.order_id)
            if current is None or current.generation != record.generation:
                return
            if current.state is not OrderState.QUEUED:
                await txn.dequeue(claim.account_id, claim.order_id)
                return
            ended = current.change(state=state, last_error=error, updated_at=now)
            await txn.save(ended)
            await txn.add_timeline(
                ended.account_id,
                ended.order.order_id,
                [TimelineEntry(time=now, kind=kind, message=message)],
            )
            await txn.dequeue(claim.account_id, claim.order_id)
            await txn.emit([order_event(EventType.ORDER_FAILED, ended)])


async def _look_up(
    gateway: BoltricsGateway | None, record: OrderRecord
) -> DiMessage | None:
    """The order's message in Boltrics, if it is there and Boltrics answers."""
    if gateway is None:
        return None
    try:
        return await gateway.find_by_reference(
            record.message_key,
            message_type=MessageType.RECEIVE_SHIPMENT,
            deadline=time.monotonic() + LOOKUP_BUDGET_SECONDS,
        )
    except BoltricsError:
        return None


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def backoff_seconds(attempts: int) -> float:
    """Capped exponential backoff with full jitter, after `attempts` tries."""
    ceiling = min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 20))
    return random.uniform(ceiling / 2, ceiling)
