"""Follows Boltrics' verdict on sent orders: Processed, or Failed and why.

No request per order: each round lists the account's pending messages (New,
then Processing). A sent message that is not pending has been decided; it
failed if the Failed or the Skipped list, read after the pending lists, holds
it (a skipped message made no shipment order either), and was processed
otherwise. Reading in this order means a message that fails between the reads
is still seen as failed.

The Failed and Skipped lists keep every message ever, and Boltrics cannot
filter them by date. So a round in which nothing was decided does not read
them, and a round that decided fewer orders than those lists had pages the
last time reads those few messages by id instead: a round never costs more
requests than listing.

A message read by id that Boltrics answers 404 for (lost, or purged) leaves
its order SENT for `MISSING_GRACE`; then the order is DEAD with the reason,
since whether Boltrics processed it cannot be known, and an operator's retry
looks it up by reference before posting again. (A listing round cannot tell
such a message from a processed one, and takes it as processed.)
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from service.adapters.boltrics import (
    BoltricsError,
    BoltricsGateway,
    BoltricsNotFound,
    DiMessage,
    Direction,
    MessageStatus,
    MessageType,
)
from service.adapters.boltrics.documents import MAX_MESSAGE_PAGE
from service.adapters.store.orders import SentOrder, SqlOrderStore
from service.domain.events import EventType
from service.domain.orders import (
    OrderState,
    TimelineEntry,
    TimelineKind,
    unknown_items,
)
from service.logging import get_logger
from service.services.orders import order_event, requeue, utc_now
from service.services.pacing import PollPacer, run_every

_log = get_logger(__name__)

#: How long Boltrics may answer 404 for a sent order's message (a glitch, a
#: message not visible yet) before the order is given up as DEAD.
MISSING_GRACE = timedelta(minutes=10)
#: Why an order failed whose message was skipped in Boltrics without a text.
SKIPPED = "the message was skipped in Boltrics"


class VerdictFollower:
    """Turns SENT orders into PROCESSED or FAILED as Boltrics decides."""

    def __init__(
        self,
        store: SqlOrderStore,
        gateway_for: Callable[[str], BoltricsGateway | None],
        *,
        poll_seconds: float,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._store = store
        self._gateway_for = gateway_for
        self._poll_seconds = poll_seconds
        self._pacer = PollPacer(poll_seconds)
        self._failed_pages: dict[str, int] = {}
        self._missing_since: dict[str, datetime] = {}
        self._clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Follow verdicts every `poll_seconds` until `stop` is set."""
        await run_every(
            stop, self._poll_seconds, self.follow_once, "verdicts.round_failed"
        )

    async def follow_once(self) -> int:
        """One round over every account with sent orders; returns orders decided."""
        by_account: dict[str, list[SentOrder]] = defaultdict(list)
        for sent in await self._store.sent():
            by_account[sent.account_id].append(sent)

        decided = 0
        for account_id, sent_orders in by_account.items():
            gateway = self._gateway_for(account_id)
            if gateway is None or not self._pacer.due(account_id, gateway):
                continue
            try:
                decided += await self._follow(account_id, gateway, sent_orders)
            except BoltricsError as exc:
                _log.warning(
                    "verdicts.unavailable", account=account_id, error=exc.message
                )
        return decided

    async def _follow(
        self, account_id: str, gateway: BoltricsGateway, orders: list[SentOrder]
    ) -> int:
        pending = await _message_ids(gateway, MessageStatus.NEW)
        pending |= await _message_ids(gateway, MessageStatus.PROCESSING)
        decided = [sent for sent in orders if sent.message_id not in pending]
        if not decided:
            return 0
        missing: list[SentOrder] = []
        if len(decided) < self._failed_pages.get(account_id, 1):
            verdicts, missing = await _read_each(gateway, decided)
        else:
            verdicts = await self._list_failed(account_id, gateway, decided)
        for sent in decided:
            if sent.message_id in verdicts:
                await self._decide(sent, verdicts[sent.message_id])
        gone = [sent for sent in missing if self._missing_too_long(sent)]
        for sent in gone:
            await self._give_up_missing(sent)
        return len(verdicts) + len(gone)

    def _missing_too_long(self, sent: SentOrder) -> bool:
        """Whether Boltrics has answered 404 for the order's message for longer
        than `MISSING_GRACE` (counted from the first 404 this process saw)."""
        now = self._clock()
        first = self._missing_since.setdefault(sent.message_id, now)
        if now - first < MISSING_GRACE:
            _log.warning(
                "verdicts.message_missing",
                account=sent.account_id,
                order_id=sent.order_id,
                message_id=sent.message_id,
                missing_since=first.isoformat(),
            )
            return False
        del self._missing_since[sent.message_id]
        return True

    async def _give_up_missing(self, sent: SentOrder) -> None:
        """The order's message is gone from Boltrics: whether it was processed
        cannot be known, so the order is DEAD for an operator to decide (a
        retry looks the order up by reference before posting again)."""
        now = self._clock()
        error = (
            f"Boltrics no longer has message {sent.message_id} (404 for over "
            f"{int(MISSING_GRACE.total_seconds() // 60)} minutes); whether it "
            "was processed is unknown"
        )
        async with self._store.transaction() as txn:
            current = await txn.lock(sent.account_id, sent.order_id)
            if current is None or current.message_id != sent.message_id:
                return
            if current.state is not OrderState.SENT:
                return
            ended = current.change(
                state=OrderState.DEAD, last_error=error, updated_at=now
            )
            await txn.save(ended)
            await txn.add_timeline(
                ended.account_id,
                ended.order.order_id,
                [TimelineEntry(time=now, kind=TimelineKind.DEAD, message=error)],
            )
            await txn.emit([order_event(EventType.ORDER_FAILED, ended)])
        _log.error(
            "order.message_gone",
            account=sent.account_id,
            order_id=sent.order_id,
            message_id=sent.message_id,
            error=error,
        )

    async def _list_failed(
        self, account_id: str, gateway: BoltricsGateway, decided: list[SentOrder]
    ) -> dict[str, str | None]:
        failed: dict[str, str | None] = {}
        pages = 0
        for status in (MessageStatus.FAILED, MessageStatus.SKIPPED):
            listed = {
                message.id: _failure(message)
                async for message in gateway.list_messages(
                    direction=Direction.INBOUND,
                    status=status,
                    message_type=MessageType.RECEIVE_SHIPMENT,
                )
            }
            pages += max(1, math.ceil(len(listed) / MAX_MESSAGE_PAGE))
            failed |= listed
        self._failed_pages[account_id] = pages
        return {sent.message_id: failed.get(sent.message_id) for sent in decided}

    async def _decide(self, sent: SentOrder, error: str | None) -> None:
        now = self._clock()
        async with self._store.transaction() as txn:
            current = await txn.lock(sent.account_id, sent.order_id)
            if current is None or current.message_id != sent.message_id:
                return
            if current.state is not OrderState.SENT:
                return
            if error is None:
                updated = current.change(state=OrderState.PROCESSED, updated_at=now)
                entry = TimelineEntry(
                    time=now,
                    kind=TimelineKind.PROCESSED,
                    message="Boltrics processed it into a shipment order",
                )
                event = EventType.ORDER_PROCESSED
            else:
                waiting = unknown_items(
                    error, (line.external_no for line in current.order.lines)
                )
                updated = current.change(
                    state=OrderState.FAILED,
                    last_error=error,
                    waiting_for=tuple(waiting),
                    updated_at=now,
                )
                message = f"Boltrics failed it: {error}"
                if waiting:
                    message += (
                        "; it is sent again once " + ", ".join(waiting) + " exists"
                    )
                entry = TimelineEntry(
                    time=now, kind=TimelineKind.FAILED, message=message
                )
                event = EventType.ORDER_FAILED
            await txn.save(updated)
            await txn.add_timeline(updated.account_id, updated.order.order_id, [entry])
            await txn.emit([order_event(event, updated)])
            if updated.waiting_for:
                await txn.lock_waiting(updated.account_id)
            if updated.waiting_for and await txn.in_boltrics(
                updated.account_id, updated.waiting_for
            ) >= set(updated.waiting_for):
                # The products came to exist before this verdict was read:
                # the hook that sends waiting orders again has run already.
                await requeue(
                    txn,
                    updated,
                    now,
                    "sent again: " + ", ".join(updated.waiting_for) + " exists now",
                )

        _log.info(
            "order.processed" if error is None else "order.failed",
            account=sent.account_id,
            order_id=sent.order_id,
            message_id=sent.message_id,
            error=error,
        )


async def _read_each(
    gateway: BoltricsGateway, decided: list[SentOrder]
) -> tuple[dict[str, str | None], list[SentOrder]]:
    """The verdict of each message, read by id: why, when it failed or was
    skipped; None when Boltrics processed it; left out while still pending.
    And the orders whose message Boltrics does not have (404)."""
    verdicts: dict[str, str | None] = {}
    missing: list[SentOrder] = []
    for sent in decided:
        try:
            message = await gateway.get_message(sent.message_id)
        except BoltricsNotFound:
            missing.append(sent)
            continue
        if message.status in (MessageStatus.FAILED, MessageStatus.SKIPPED):
            verdicts[sent.message_id] = _failure(message)
        elif message.status not in (MessageStatus.NEW, MessageStatus.PROCESSING):
            verdicts[sent.message_id] = None
    return verdicts, missing


def _failure(message: DiMessage) -> str:
    """Why a failed or skipped message made no shipment order."""
    if message.status == MessageStatus.SKIPPED:
        return message.error_text or SKIPPED
    return message.error_text


async def _message_ids(gateway: BoltricsGateway, status: MessageStatus) -> set[str]:
    return {
        message.id
        async for message in gateway.list_messages(
            direction=Direction.INBOUND,
            status=status,
            message_type=MessageType.RECEIVE_SHIPMENT,
        )
    }
