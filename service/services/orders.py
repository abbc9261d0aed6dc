"""Use cases of orders: take one in, look one up, send one again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from service.adapters.store.orders import OrderTransaction, SqlOrderStore
from service.domain.events import EventType, NewEvent
from service.domain.orders import (
    BUCKLES_STATUSES,
    Decision,
    Forwarding,
    Order,
    OrderRecord,
    OrderState,
    TimelineEntry,
    TimelineKind,
    forwarding,
    validate_order,
)
from service.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from service.logging import get_logger

_log = get_logger(__name__)


class ShippingDecider(Protocol):
    """Decides an order's shipping method by the account's shipping rules."""

    def decide(self, account_id: str, order: Order) -> Decision:
        """The method, with its explanation."""


class StatusTranslator(Protocol):
    """The accounts' status mappings: webshop status to Buckles status."""

    def translate(
        self, account_id: str, channel: str, webshop_status: str
    ) -> str | None:
        """The Buckles status, or None when the mapping does not know it."""


class Outcome(StrEnum):
    """What CreateOrder did."""

    SKIPPED = "skipped"
    ACCEPTED = "accepted"
    SENT = "sent"


@dataclass(frozen=True)
class CreateOrderResult:
    """The answer to CreateOrder."""

    outcome: Outcome
    record: OrderRecord
    repeat: bool


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


class OrderService:
    """Takes orders in, records every step, and queues them for Boltrics."""

    def __init__(
        self,
        store: SqlOrderStore,
        decider: ShippingDecider,
        statuses: StatusTranslator,
        *,
        wake_dispatcher: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._store = store
        self._decider = decider
        self._statuses = statuses
        self._wake = wake_dispatcher
        self._clock = clock

    async def create(self, account_id: str, order: Order) -> CreateOrderResult:
        """Record an order; queue it for Boltrics when it is paid and Processing."""
        status = self._buckles_status(account_id, order)
        go = forwarding(order, status)
        decision = self._decider.decide(account_id, order) if go.forward else None
        fingerprint = order.fingerprint()
        now = self._clock()

        async with self._store.transaction() as txn:
            existing = await txn.lock(account_id, order.order_id)
            if (
                existing is not None
                and existing.state is not OrderState.SKIPPED
                and not await self._held_back(txn, existing, go, fingerprint)
            ):
                return self._repeat(existing, fingerprint, go)
            # Boltrics shipped an order the connector did not know yet (say, a
            # store restored from an older backup): sending it would make a
            # second shipment order. The shipment collector applies the stored
            # shipment on its next round.
            shipped = go.forward and await txn.shipment_waiting(
                account_id, order.order_id
            )
            # Lines go out under their products' ExternalNo, fixed for life,
            # though the shop may have changed the SKU since.
            listed = await txn.listed_items(
                account_id,
                order.source_platform,
                order.shop,
                {line.product_id for line in order.lines if line.product_id},
            )
            order = order.with_items(listed)

            record = OrderRecord(
                account_id=account_id,
                order=order,
                state=OrderState.QUEUED if go.forward else OrderState.SKIPPED,
                buckles_status=status,
                fingerprint=fingerprint,
                skip_reason=go.reason,
                decision=decision,
                # A held-back order keeps its generation: a reference it was
                # refused under must not be posted again.
                generation=existing.generation if existing else 0,
                created_at=existing.created_at if existing else now,
                updated_at=now,
            )
            await self._record_arrival(txn, record, existing, now, held=shipped)

        if go.forward and not shipped:
            self._wake()
        _log.info(
            "order.accepted" if go.forward else "order.skipped",
            account=account_id,
            order_id=order.order_id,
            reason=go.reason or None,
            method=decision.method if decision else None,
            held_for_shipment=shipped or None,
        )
        outcome = Outcome.ACCEPTED if go.forward else Outcome.SKIPPED
        return CreateOrderResult(outcome, record, repeat=existing is not None)

    async def get(
        self, account_id: str, order_id: str
    ) -> tuple[OrderRecord, list[TimelineEntry]]:
        """The order and its timeline; NotFound when the account has no such order."""
        record = await self._store.get(account_id, order_id)
        if record is None:
            msg = f"order {order_id} of account {account_id} is not known"
            raise NotFound(msg, metadata={"order_id": order_id})
        return record, await self._store.timeline(account_id, order_id)

    async def page(
        self,
        account_id: str,
        *,
        limit: int,
        before: tuple[datetime, str] | None,
        state: OrderState | None,
    ) -> list[OrderRecord]:
        """A page of the account's orders, newest first."""
        return await self._store.page(
            account_id, limit=limit, before=before, state=state
        )

    async def retry(self, account_id: str, order_id: str) -> tuple[OrderRecord, bool]:
        """Queue a failed or dead order again; says whether anything changed."""
        now = self._clock()
        async with self._store.transaction() as txn:
            record = await txn.lock(account_id, order_id)
            if record is None:
                msg = f"order {order_id} of account {account_id} is not known"
                raise NotFound(msg, metadata={"order_id": order_id})
            if record.state in (
                OrderState.QUEUED,
                OrderState.SENT,
                OrderState.PROCESSED,
            ):
                return record, False
            if record.state in (OrderState.SKIPPED, OrderState.SHIPPED):
                msg = (
                    f"order {order_id} is {record.state.value}; "
                    "only failed or dead orders are retried"
                )
                raise FailedPrecondition(msg, metadata={"order_id": order_id})

            # A dead order's last post may have reached Boltrics unanswered:
            # it goes again under the same reference, which is looked up first.
            record = await requeue(
                txn,
                record,
                now,
                "sent again on an operator's request",
                same_reference=record.state is OrderState.DEAD,
            )
        self._wake()
        _log.info("order.retried", account=account_id, order_id=order_id)
        return record, True

    async def requeue_waiting(self, account_id: str, external_nos: set[str]) -> int:
        """Queue again the failed orders that waited for these products to exist."""
        # Past any verdict failing an order for them right now: it is
        # committed before the list is read (see `lock_waiting`).
        await self._store.pass_waiting_lock(account_id)
        waiting = [
            record
            async for record in self._store.each_in_state(account_id, OrderState.FAILED)
            if set(record.waiting_for) & external_nos
        ]
        now = self._clock()
        for candidate in waiting:
            async with self._store.transaction() as txn:
                record = await txn.lock(account_id, candidate.order.order_id)
                if record is None or record.state is not OrderState.FAILED:
                    continue
                reason = (
                    "sent again: "
                    + ", ".join(sorted(external_nos & set(record.waiting_for)))
                    + " now exists in Boltrics"
                )
                await requeue(txn, record, now, reason)
        if waiting:
            self._wake()
        return len(waiting)

    def _buckles_status(self, account_id: str, order: Order) -> str:
        problems = validate_order(order)
        status = order.buckles_status
        if status is not None and status not in BUCKLES_STATUSES:
            problems.append(FieldViolation("order.buckles_status", "is required"))
        if status is None and (order.webshop_status or "").strip():
            status = self._statuses.translate(
                account_id, order.source_platform, order.webshop_status or ""
            )
            if status is None:
                problems.append(
                    FieldViolation(
                        "order.webshop_status",
                        f"the status mapping of channel {order.source_platform!r} "
                        f"does not know status {order.webshop_status!r}",
                    )
                )
        if problems:
            raise InvalidArgument(problems)
        assert status is not None
        return status

    async def _held_back(
        self,
        txn: OrderTransaction,
        existing: OrderRecord,
        go: Forwarding,
        fingerprint: str,
    ) -> bool:
        """Whether a queued order that comes again in a status that is not
        forwarded (on hold, cancelled) is taken off the queue: only while no
        attempt to send it was made, since one may have reached Boltrics.
        It is then recorded as skipped, like any order in such a status."""
        return (
            not go.forward
            and existing.state is OrderState.QUEUED
            and existing.fingerprint == fingerprint
            and await txn.withdraw_unattempted(
                existing.account_id, existing.order.order_id
            )
        )

    def _repeat(
        self, existing: OrderRecord, fingerprint: str, go: Forwarding
    ) -> CreateOrderResult:
        if existing.fingerprint != fingerprint:
            msg = (
                f"order {existing.order.order_id} was {existing.state.value} "
                "with other content; a sent order cannot change"
            )
            raise FailedPrecondition(
                msg,
                metadata={
                    "order_id": existing.order.order_id,
                    "reason": "ORDER_CONTENT_CHANGED",
                },
            )
        outcome = (
            Outcome.ACCEPTED if existing.state is OrderState.QUEUED else Outcome.SENT
        )
        if existing.state in (OrderState.FAILED, OrderState.DEAD):
            outcome = Outcome.ACCEPTED
        if not go.forward and existing.state is OrderState.QUEUED:
            # Too late to hold it back: an attempt may have reached Boltrics.
            _log.warning(
                "order.status_too_late",
                account=existing.account_id,
                order_id=existing.order.order_id,
                reason=go.reason,
            )
        return CreateOrderResult(outcome, existing, repeat=True)

    async def _record_arrival(
        self,
        txn: OrderTransaction,
        record: OrderRecord,
        existing: OrderRecord | None,
        now: datetime,
        *,
        held: bool = False,
    ) -> None:
        await txn.save(record)
        await txn.add_timeline(
            record.account_id,
            record.order.order_id,
            _arrival_timeline(record, existing, now, held=held),
        )
        if record.state is OrderState.QUEUED and not held:
            await txn.enqueue(record.account_id, record.order.order_id, now)
        event = (
            EventType.ORDER_ACCEPTED
            if record.state is OrderState.QUEUED
            else EventType.ORDER_SKIPPED
        )
        if (
            existing is None
            or record.state is OrderState.QUEUED
            or existing.skip_reason != record.skip_reason
        ):
            await txn.emit([order_event(event, record)])


def _arrival_timeline(
    record: OrderRecord,
    existing: OrderRecord | None,
    now: datetime,
    *,
    held: bool = False,
) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            time=now,
            kind=TimelineKind.RECEIVED,
            message=f"received with status {record.buckles_status.replace('_', ' ')}"
            + (" again" if existing else ""),
        )
    ]
    if record.state is OrderState.SKIPPED:
        entries.append(
            TimelineEntry(
                time=now,
                kind=TimelineKind.SKIPPED,
                message=f"not forwarded: {record.skip_reason}",
            )
        )
        return entries

    decision = record.decision
    assert decision is not None
    entries.append(
        TimelineEntry(
            time=now, kind=TimelineKind.DECIDED, message=decision_sentence(decision)
        )
    )
    queued = (
        "not sent: Boltrics already reported a shipment of this order, which is "
        "applied next"
        if held
        else "queued for Boltrics"
    )
    entries.append(TimelineEntry(time=now, kind=TimelineKind.QUEUED, message=queued))
    return entries


def decision_sentence(decision: Decision) -> str:
    """One sentence saying which method an order gets, and why."""
    if decision.source == "rule":
        return f"shipping method {decision.method!r} by rule {decision.rule_id}"
    if decision.method:
        return f"shipping method {decision.method!r} from the checkout; no rule matched"
    return "no shipping method: the checkout gave none and no rule matched"


def order_event(event: EventType, record: OrderRecord) -> NewEvent:
    """An order event carrying the order's record."""
    return NewEvent(
        account_id=record.account_id,
        type=event,
        payload=record.model_dump(mode="json"),
    )


async def requeue(
    txn: OrderTransaction,
    record: OrderRecord,
    now: datetime,
    why: str,
    *,
    same_reference: bool = False,
) -> OrderRecord:
    """Queue a failed or dead order again, with `why` on its timeline, and say
    so with an ORDER_ACCEPTED event (queued again: it holds stock again).

    Under a new generation, so a new `externalReference` (Boltrics keeps the
    failed message under the old one); or, with `same_reference`, under the
    old one, looked up before it is posted again.
    """
    record = record.change(
        state=OrderState.QUEUED,
        generation=record.generation + (0 if same_reference else 1),
        waiting_for=(),
        updated_at=now,
    )
    await txn.save(record)
    await txn.add_timeline(
        record.account_id,
        record.order.order_id,
        [TimelineEntry(time=now, kind=TimelineKind.RETRIED, message=why)],
    )
    await txn.enqueue(
        record.account_id, record.order.order_id, now, maybe_posted=same_reference
    )
    await txn.emit([order_event(EventType.ORDER_ACCEPTED, record)])
    return record
