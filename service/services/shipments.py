"""Shipments come back: confirmations from Boltrics, or from a caller, applied once.

A confirmation is stored, its order marked shipped (with the method used, and a
timeline entry from what to what when the method changed) and its event
emitted, all in one write transaction (one per page of collected messages).
The collector acknowledges a Boltrics message only after that transaction
committed, once the round has listed every New message: a crash in between
leaves the message New, and collecting it again finds it stored and changes
nothing. The collector's pages are parsed in a worker process (ParsingPool,
with the decoding of shipment_documents.py) while the page before is stored.

A confirmation for an order the connector does not know is stored and surfaced
as a SHIPMENT_REJECTED event. Once the order is known (it arrived later, or the
same confirmation is reported again) the stored confirmation is applied then,
with its ORDER_SHIPPED event; the collector looks for such orders every round.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from service.adapters.boltrics import (
    BoltricsError,
    BoltricsGateway,
    DiMessage,
    Direction,
    MessageStatus,
    MessageType,
)
from service.adapters.parsing import ParsingPool
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.orders import SqlOrderStore
from service.adapters.store.shipments import (
    NewShipment,
    ShipmentTransaction,
    SqlShipmentStore,
    StoredShipment,
)
from service.config import Account
from service.domain.events import EventType, NewEvent
from service.domain.orders import OrderRecord, OrderState
from service.domain.shipments import (
    AppliedShipment,
    ShipmentConfirmation,
    ShipmentOutcome,
    ShipmentResult,
    apply_shipment,
    unknown_order_result,
    validate_confirmation,
)
from service.errors import FieldViolation, InvalidArgument
from service.logging import get_logger
from service.services.ahead import in_batches, read_ahead
from service.services.orders import utc_now
from service.services.pacing import PollPacer, run_every
from service.services.shipment_documents import Decoded, TrackCodes, decode_message

_log = get_logger(__name__)

SHIPMENTS = Counter(
    "connector_shipments_total",
    "Shipment confirmations handled, by outcome "
    "(applied, adopted, unknown_order, rejected, repeat).",
    ["outcome"],
)

#: Messages handled in one write transaction: one page of `diMessages`.
CHUNK = 100
#: Acknowledgements in flight at once, per account. More is slower: httpcore's
#: pool scans every waiting request whenever one finishes.
ACK_CONCURRENCY = 8
XML_FIELD = "sendshipment_xml"


@dataclass(frozen=True)
class Handled:
    """What handling one confirmation did."""

    outcome: ShipmentOutcome
    result: ShipmentResult | None
    repeat: bool
    adopted: bool = False
    reason: str = ""


#: A page of collected messages, and what they hold once parsed.
_Parsing = tuple[list[DiMessage], Awaitable[list[Decoded]]]


class ShipmentService:
    """Takes shipment confirmations in, from Boltrics or from callers, each once."""

    def __init__(
        self,
        database: Database,
        events: SqlEventLog,
        orders: SqlOrderStore,
        gateway_for: Callable[[str], BoltricsGateway | None],
        account_for: Callable[[str], Account | None],
        *,
        accounts: Callable[[], Iterable[str]],
        poll_seconds: float = 1.0,
        clock: Callable[[], datetime] = utc_now,
        parsers: ParsingPool | None = None,
    ):
        self._store = SqlShipmentStore(database, orders)
        self._parsers = parsers or ParsingPool(0)
        self._events = events
        self._gateway_for = gateway_for
        self._account_for = account_for
        self._accounts = accounts
        self._poll_seconds = poll_seconds
        self._pacer = PollPacer(poll_seconds)
        self._clock = clock

    # --- from callers --------------------------------------------------------

    async def report(
        self, account_id: str, confirmation: ShipmentConfirmation
    ) -> tuple[ShipmentResult, bool]:
        """Handle a confirmation given field by field; the result and whether it
        was a repeat. Missing fields are InvalidArgument."""
        problems = validate_confirmation(confirmation)
        if problems:
            raise InvalidArgument(problems)
        return await self._report(account_id, confirmation)

    async def report_xml(
        self, account_id: str, xml: bytes
    ) -> tuple[ShipmentResult, bool]:
        """Handle a `sendshipment` document; malformed or hostile XML, or one
        without ExternalReference, is InvalidArgument (nothing is stored)."""
        decoded = decode_message(xml, self._codes(account_id))
        if isinstance(decoded, str):
            raise InvalidArgument([FieldViolation(XML_FIELD, decoded)])
        return await self._report(account_id, decoded)

    async def shipments_of(
        self, account_id: str, order_id: str
    ) -> list[ShipmentResult]:
        """The results of the order's shipments, oldest first (for GetOrder)."""
        return await self._store.results_of(account_id, order_id)

    async def _report(
        self, account_id: str, confirmation: ShipmentConfirmation
    ) -> tuple[ShipmentResult, bool]:
        async with self._store.transaction() as txn:
            handled = await self._handle(
                txn, account_id, confirmation, None, self._clock()
            )
        _account_log(account_id, confirmation.order_id, None, handled)
        assert handled.result is not None
        return handled.result, handled.repeat

    # --- the collector -------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Collect confirmations every `poll_seconds` until `stop` is set."""
        await run_every(
            stop, self._poll_seconds, self.collect_once, "shipments.round_failed"
        )

    async def collect_once(self) -> int:
        """One round: apply waiting confirmations whose order is known now, then
        collect every account's New `sendshipment` messages; returns how many."""
        handled = await self._adopt_waiting()
        for account_id in self._accounts():
            gateway = self._gateway_for(account_id)
            if gateway is None or not self._pacer.due(account_id, gateway):
                continue
            try:
                handled += await self._collect(account_id, gateway)
            except BoltricsError as exc:
                _log.warning(
                    "shipments.unavailable", account=account_id, error=exc.message
                )
            except Exception:
                # One account's failure must not keep the others waiting.
                _log.exception("shipments.collect_failed", account=account_id)
        return handled

    async def _collect(self, account_id: str, gateway: BoltricsGateway) -> int:
        codes = self._codes(account_id)
        acks = _Acknowledger(account_id, gateway)
        count = 0
        messages = gateway.list_messages(
            direction=Direction.OUTBOUND,
            status=MessageStatus.NEW,
            message_type=MessageType.SEND_SHIPMENT,
        )
        # Pipelined: while a page is stored, the next one is parsed (in a worker
        # process, see ParsingPool) and the one after that listed.
        before: _Parsing | None = None
        try:
            async for chunk in read_ahead(in_batches(messages, CHUNK)):
                contents = [message.content for message in chunk]
                parsing = chunk, self._parsers.parse(decode_message, contents, codes)
                taking, before = before, parsing
                if taking is not None:
                    count += await self._take(account_id, taking, acks)
        except Exception:
            # The listing broke off, or a page could not be taken (it stays New
            # for the next round): the page parsed and not taken yet is stored
            # all the same, and what was stored is acknowledged.
            if before is not None:
                count += await self._take(account_id, before, acks)
            await acks.finish()
            raise
        if before is not None:
            count += await self._take(account_id, before, acks)
        await acks.finish()
        return count

    async def _take(
        self,
        account_id: str,
        parsing: _Parsing,
        acks: _Acknowledger,
    ) -> int:
        """Store a page of messages in one transaction; acknowledge them later."""
        messages, decoding = parsing
        decoded = await decoding
        try:
            outcomes = await self._store_chunk(account_id, messages, decoded)
        except Exception:
            _log.exception("shipments.chunk_failed", account=account_id)
            outcomes = await self._store_each(account_id, messages, decoded)

        for message, handled in zip(messages, outcomes, strict=True):
            if handled is None:
                continue
            _account_log(account_id, message.external_reference, message.id, handled)
            acks.add(message)
        return sum(handled is not None for handled in outcomes)

    async def _store_chunk(
        self,
        account_id: str,
        messages: Sequence[DiMessage],
        decoded: Sequence[Decoded],
    ) -> list[Handled | None]:
        now = self._clock()
        order_ids = [item.order_id for item in decoded if not isinstance(item, str)]
        async with self._store.transaction() as txn:
            await txn.prefetch(
                account_id, [message.id for message in messages], order_ids
            )
            return [
                await self._handle_message(txn, account_id, message, item, now)
                for message, item in zip(messages, decoded, strict=True)
            ]

    async def _store_each(
        self,
        account_id: str,
        messages: Sequence[DiMessage],
        decoded: Sequence[Decoded],
    ) -> list[Handled | None]:
        """One transaction per message, so that one that cannot be stored (and is
        left New, to be tried next round) does not hold up the others."""
        outcomes: list[Handled | None] = []
        for message, item in zip(messages, decoded, strict=True):
            try:
                outcomes += await self._store_chunk(account_id, [message], [item])
            except Exception:
                _log.exception(
                    "shipments.store_failed", account=account_id, message_id=message.id
                )
                outcomes.append(None)
        return outcomes

    async def _handle_message(
        self,
        txn: ShipmentTransaction,
        account_id: str,
        message: DiMessage,
        item: ShipmentConfirmation | str,
        now: datetime,
    ) -> Handled:
        stored = await txn.by_message(account_id, message.id)
        if stored is not None:
            return _repeat(stored)
        if isinstance(item, str):
            return await self._reject(txn, account_id, message, item, now)
        return await self._handle(txn, account_id, item, message.id, now)

    # --- handling one confirmation ------------------------------------------

    async def _handle(
        self,
        txn: ShipmentTransaction,
        account_id: str,
        confirmation: ShipmentConfirmation,
        message_id: str | None,
        now: datetime,
    ) -> Handled:
        record = await txn.order(account_id, confirmation.order_id)
        stored = await txn.by_key(
            account_id, confirmation.order_id, confirmation.shipment_no
        )
        if stored is not None:
            if stored.outcome is ShipmentOutcome.UNKNOWN_ORDER and record is not None:
                return await self._adopt(txn, stored, record, now)
            return _repeat(stored)
        if record is None:
            return await self._unknown(txn, account_id, confirmation, message_id, now)
        return await self._apply(txn, record, confirmation, message_id, now)

    async def _apply(
        self,
        txn: ShipmentTransaction,
        record: OrderRecord,
        confirmation: ShipmentConfirmation,
        message_id: str | None,
        now: datetime,
    ) -> Handled:
        applied = apply_shipment(record, confirmation, now)
        new = _new(
            record.account_id, confirmation, message_id, ShipmentOutcome.APPLIED, now
        )
        if not await txn.add(replace_result(new, applied.result)):
            return await self._lost_race(txn, record.account_id, confirmation)
        await self._ship_order(txn, record, applied.record, applied)
        return Handled(ShipmentOutcome.APPLIED, applied.result, repeat=False)

    async def _adopt(
        self,
        txn: ShipmentTransaction,
        stored: StoredShipment,
        record: OrderRecord,
        now: datetime,
    ) -> Handled:
        assert stored.confirmation is not None
        applied = apply_shipment(record, stored.confirmation, now)
        await txn.settle(stored.id, applied.result, now)
        await self._ship_order(txn, record, applied.record, applied)
        return Handled(
            ShipmentOutcome.APPLIED, applied.result, repeat=False, adopted=True
        )

    async def _ship_order(
        self,
        txn: ShipmentTransaction,
        before: OrderRecord,
        shipped: OrderRecord,
        applied: AppliedShipment,
    ) -> None:
        await txn.save_order(shipped)
        txn.add_timeline(shipped.account_id, shipped.order.order_id, applied.entries)
        if before.state is OrderState.QUEUED:
            await txn.orders.dequeue(shipped.account_id, shipped.order.order_id)
        txn.emit(
            [
                NewEvent(
                    account_id=shipped.account_id,
                    type=EventType.ORDER_SHIPPED,
                    payload=applied.result.model_dump(mode="json"),
                )
            ]
        )

    async def _unknown(
        self,
        txn: ShipmentTransaction,
        account_id: str,
        confirmation: ShipmentConfirmation,
        message_id: str | None,
        now: datetime,
    ) -> Handled:
        result = unknown_order_result(account_id, confirmation)
        reason = f"order {confirmation.order_id} is not known to the connector"
        new = _new(
            account_id, confirmation, message_id, ShipmentOutcome.UNKNOWN_ORDER, now
        )
        if not await txn.add(replace_result(new, result, reason)):
            return await self._lost_race(txn, account_id, confirmation)
        payload = {
            "reason": reason,
            "order_id": confirmation.order_id,
            "shipment_no": confirmation.shipment_no,
            "message_id": message_id,
            "shipment": result.model_dump(mode="json"),
        }
        txn.emit([_rejection(account_id, payload)])
        return Handled(
            ShipmentOutcome.UNKNOWN_ORDER, result, repeat=False, reason=reason
        )

    async def _reject(
        self,
        txn: ShipmentTransaction,
        account_id: str,
        message: DiMessage,
        reason: str,
        now: datetime,
    ) -> Handled:
        new = NewShipment(
            account_id=account_id,
            order_id="",
            shipment_no="",
            message_id=message.id,
            outcome=ShipmentOutcome.REJECTED,
            reason=reason,
            confirmation=None,
            result=None,
            received_at=now,
        )
        if not await txn.add(new):
            return Handled(ShipmentOutcome.REJECTED, None, repeat=True, reason=reason)
        payload = {
            "reason": reason,
            "message_id": message.id,
            "external_reference": message.external_reference,
        }
        txn.emit([_rejection(account_id, payload)])
        return Handled(ShipmentOutcome.REJECTED, None, repeat=False, reason=reason)

    async def _lost_race(
        self,
        txn: ShipmentTransaction,
        account_id: str,
        confirmation: ShipmentConfirmation,
    ) -> Handled:
        """Another replica stored the same confirmation first: a repeat."""
        stored = await txn.by_key(
            account_id, confirmation.order_id, confirmation.shipment_no
        )
        if stored is None:
            msg = f"shipment {confirmation.shipment_no} conflicts with another"
            raise RuntimeError(msg)
        return _repeat(stored)

    async def _adopt_waiting(self) -> int:
        adopted = 0
        for waiting in await self._store.adoptable():
            async with self._store.transaction() as txn:
                record = await txn.order(waiting.account_id, waiting.order_id)
                stored = await txn.by_key(
                    waiting.account_id, waiting.order_id, waiting.shipment_no
                )
                if record is None or stored is None:
                    continue
                if stored.outcome is not ShipmentOutcome.UNKNOWN_ORDER:
                    continue
                handled = await self._adopt(txn, stored, record, self._clock())
            _account_log(waiting.account_id, waiting.order_id, None, handled)
            adopted += 1
        return adopted

    def _codes(self, account_id: str) -> TrackCodes:
        account = self._account_for(account_id)
        if account is None or account.boltrics is None:
            return TrackCodes()
        return TrackCodes(
            number=account.boltrics.track_trace_attribute,
            url=account.boltrics.track_url_attribute,
        )


class _Acknowledger:
    """Acknowledges the stored messages of a round once its listing is done.

    Listing and storing come first, so that results reach the callers as soon
    as Boltrics offers them; a crash before the acknowledgements leaves the
    messages New, and the next round finds them stored (repeats, no events)
    and acknowledges them then. A failure waits for the next round too.
    """

    def __init__(self, account_id: str, gateway: BoltricsGateway):
        self._account_id = account_id
        self._gateway = gateway
        self._waiting: list[DiMessage] = []

    def add(self, message: DiMessage) -> None:
        """Acknowledge `message` when the round's listing is done."""
        # Only its id, status and etag are needed: the document can go.
        self._waiting.append(dataclasses.replace(message, content=b""))

    async def finish(self) -> None:
        """Acknowledge every message added, `ACK_CONCURRENCY` at a time."""
        waiting, self._waiting = self._waiting, []
        # A few workers share one list, rather than a task per message: the
        # loop stays free for the readers woken by what was just stored.
        turns = iter(waiting)

        async def acknowledge_in_turn() -> None:
            for message in turns:
                await self._acknowledge(message)

        workers = min(ACK_CONCURRENCY, len(waiting))
        await asyncio.gather(*(acknowledge_in_turn() for _ in range(workers)))

    # TODO: the contract acknowledges one message per PATCH; at about 0.3 ms of
    # client CPU each, the acknowledgements cost more than storing the results.
    async def _acknowledge(self, message: DiMessage) -> None:
        try:
            await self._gateway.acknowledge(message)
        except BoltricsError as exc:
            _log.warning(
                "shipments.acknowledge_failed",
                account=self._account_id,
                message_id=message.id,
                error=exc.message,
            )


def _new(
    account_id: str,
    confirmation: ShipmentConfirmation,
    message_id: str | None,
    outcome: ShipmentOutcome,
    now: datetime,
) -> NewShipment:
    return NewShipment(
        account_id=account_id,
        order_id=confirmation.order_id,
        shipment_no=confirmation.shipment_no,
        message_id=message_id,
        outcome=outcome,
        reason="",
        confirmation=confirmation,
        result=None,
        received_at=now,
    )


def replace_result(
    new: NewShipment, result: ShipmentResult, reason: str = ""
) -> NewShipment:
    """`new` with its result (and reason) filled in."""
    return NewShipment(
        account_id=new.account_id,
        order_id=new.order_id,
        shipment_no=new.shipment_no,
        message_id=new.message_id,
        outcome=new.outcome,
        reason=reason,
        confirmation=new.confirmation,
        result=result,
        received_at=new.received_at,
    )


def _repeat(stored: StoredShipment) -> Handled:
    return Handled(stored.outcome, stored.result, repeat=True, reason=stored.reason)


def _rejection(account_id: str, payload: dict[str, Any]) -> NewEvent:
    return NewEvent(
        account_id=account_id, type=EventType.SHIPMENT_REJECTED, payload=payload
    )


def _account_log(
    account_id: str, order_id: str, message_id: str | None, handled: Handled
) -> None:
    """One log event and one count per confirmation handled."""
    if handled.repeat:
        label = "repeat"
        _log.info(
            "shipment.repeated",
            account=account_id,
            order_id=order_id,
            message_id=message_id,
        )
    elif handled.outcome is ShipmentOutcome.APPLIED:
        label = "adopted" if handled.adopted else "applied"
        result = handled.result
        assert result is not None
        _log.info(
            "shipment.applied",
            account=account_id,
            order_id=order_id,
            shipment_no=result.shipment_no,
            method_used=result.method_used,
            method_changed=result.method_changed,
            adopted=handled.adopted,
            message_id=message_id,
        )
    else:
        label = handled.outcome.value
        _log.warning(
            "shipment.order_unknown"
            if handled.outcome is ShipmentOutcome.UNKNOWN_ORDER
            else "shipment.rejected",
            account=account_id,
            order_id=order_id or None,
            message_id=message_id,
            reason=handled.reason,
        )
    SHIPMENTS.labels(outcome=label).inc()
