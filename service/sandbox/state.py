"""What the sandbox holds per company, and how Boltrics would treat it.

A `Company` keeps its DI messages, its items with their stock, and the
shipment orders that processed `receiveshipment` messages created. Processing
applies the contract's failure rules; nothing is ever deduplicated.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.adapters.boltrics import documents as doc
from service.adapters.boltrics.errors import DocumentError


@dataclass
class StoredMessage:
    """One message in `diMessages`, with its content as the base64 text it came in."""

    seq: int
    id: str
    message_type: str
    direction: str
    status: str
    external_reference: str
    content: str
    created_at: str
    error_text: str = ""
    version: int = 1

    @property
    def etag(self) -> str:
        """The weak etag of this version."""
        return f'W/"{self.version}"'

    def resource(self) -> dict[str, Any]:
        """The JSON resource Boltrics answers with."""
        return {
            doc.FIELD_ID: self.id,
            doc.FIELD_MESSAGE_TYPE: self.message_type,
            doc.FIELD_DIRECTION: self.direction,
            doc.FIELD_STATUS: self.status,
            doc.FIELD_EXTERNAL_REFERENCE: self.external_reference,
            doc.FIELD_CONTENT: self.content,
            doc.FIELD_ERROR_TEXT: self.error_text,
            doc.FIELD_CREATED_AT: self.created_at,
            doc.FIELD_ETAG: self.etag,
        }

    def set_status(self, status: str, error_text: str = "") -> None:
        """Change the status, which makes a new version."""
        self.status = status
        self.error_text = error_text
        self.version += 1


@dataclass
class StoredItem:
    """A product the warehouse knows, and its stock on hand."""

    external_no: str
    description: str = ""
    gross_weight: str | None = None
    ean_code: str | None = None
    qty_in_inventory: int = 0
    modified_at: str = field(default_factory=lambda: doc.format_timestamp(_now()))


@dataclass
class StoredOrder:
    """A shipment order in the warehouse, made from a processed receiveshipment."""

    external_reference: str
    external_document_no: str
    message_id: str
    shipping_agent: str | None
    lines: list[tuple[str, str]]
    shipped: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


class Company:
    """The sandbox's state of one company."""

    def __init__(self, company_id: str) -> None:
        self.company_id = company_id
        self.messages: dict[str, StoredMessage] = {}
        self.by_reference: dict[str, list[StoredMessage]] = {}
        self.items: dict[str, StoredItem] = {}
        self.orders: list[StoredOrder] = []
        self.orders_by_reference: dict[str, list[StoredOrder]] = {}
        self.reserved: dict[str, int] = {}
        self.tokens_not_before = 0
        self.shipment_counter = 0
        self._sorted_items: list[str] | None = None

    # --- messages ----------------------------------------------------------

    def add_message(self, message: StoredMessage) -> None:
        """Store a new message."""
        self.messages[message.id] = message
        self.by_reference.setdefault(message.external_reference, []).append(message)

    def find_messages(
        self, conditions: dict[str, str], after_seq: int, limit: int
    ) -> list[StoredMessage]:
        """Up to `limit` messages matching every condition, after `after_seq`."""
        reference = conditions.get(doc.FIELD_EXTERNAL_REFERENCE)
        candidates: Iterable[StoredMessage] = (
            self.by_reference.get(reference, [])
            if reference is not None
            else self.messages.values()
        )
        found = []
        for message in candidates:
            if message.seq > after_seq and _matches(message, conditions):
                found.append(message)
                if len(found) == limit:
                    break
        return found

    def process(self, message: StoredMessage) -> None:
        """Process a New inbound message: Processed, or Failed with the reason."""
        if message.status != doc.MessageStatus.NEW:
            return
        try:
            xml = doc.decode_content(message.content)
            if message.message_type == doc.MessageType.RECEIVE_SHIPMENT:
                self._receive_shipment(message, doc.parse_shipment_order(xml))
            else:
                self._material_master_data(doc.parse_material_master_data(xml))
        except (DocumentError, _Refused) as exc:
            message.set_status(doc.MessageStatus.FAILED, str(exc))
            return
        message.set_status(doc.MessageStatus.PROCESSED)

    def _receive_shipment(
        self, message: StoredMessage, order: doc.ShipmentOrder
    ) -> None:
        unknown = [
            line.external_no
            for line in order.lines
            if line.external_no not in self.items
        ]
        if unknown:
            raise _Refused(f"Item {', '.join(unknown)} does not exist")
        missing = [
            name
            for name, value in (
                (doc.E_COUNTRY_CODE, order.ship_to.country_code),
                (doc.E_POST_CODE, order.ship_to.postcode),
            )
            if not value
        ]
        if missing:
            raise _Refused(f"Ship-to address has no {' and no '.join(missing)}")

        stored = StoredOrder(
            external_reference=order.external_reference,
            external_document_no=order.external_document_no,
            message_id=message.id,
            shipping_agent=order.shipping_agent,
            lines=[(line.external_no, str(line.quantity)) for line in order.lines],
        )
        self.orders.append(stored)
        self.orders_by_reference.setdefault(stored.external_reference, []).append(
            stored
        )
        for external_no, quantity in stored.lines:
            self._reserve(external_no, int(Decimal(quantity)))

    def _material_master_data(self, data: doc.MaterialMasterData) -> None:
        if data.header.action == doc.ProcessAction.UPDATE:
            unknown = [
                item.external_no
                for item in data.items
                if item.external_no not in self.items
            ]
            if unknown:
                raise _Refused(f"Item {', '.join(unknown)} does not exist")
        for item in data.items:
            self.upsert_item(
                item.external_no,
                description=item.description,
                gross_weight=None
                if item.gross_weight is None
                else str(item.gross_weight),
                ean_code=item.ean_code,
            )

    # --- items and stock ---------------------------------------------------

    def upsert_item(
        self,
        external_no: str,
        *,
        description: str = "",
        gross_weight: str | None = None,
        ean_code: str | None = None,
    ) -> StoredItem:
        """Create an item, or change the description and weight of a known one."""
        item = self.items.get(external_no)
        if item is None:
            item = StoredItem(external_no)
            self.items[external_no] = item
            self._sorted_items = None
        item.description = description
        item.gross_weight = gross_weight
        item.ean_code = ean_code or item.ean_code
        return item

    def set_stock(
        self, external_no: str, quantity: int, moment: datetime
    ) -> StoredItem:
        """Set the stock on hand of an item, creating it when unknown."""
        item = self.items.get(external_no)
        if item is None:
            item = self.upsert_item(external_no)
        item.qty_in_inventory = max(0, quantity)
        item.modified_at = doc.format_timestamp(moment)
        return item

    def available(self, item: StoredItem) -> int:
        """On hand minus what processed, unshipped orders hold."""
        return max(0, item.qty_in_inventory - self.reserved.get(item.external_no, 0))

    def stock_row(self, item: StoredItem) -> dict[str, Any]:
        """The `stockLevels` row of an item."""
        return {
            doc.FIELD_EXTERNAL_NO: item.external_no,
            doc.FIELD_QTY_IN_INVENTORY: item.qty_in_inventory,
            doc.FIELD_QTY_AVAILABLE: self.available(item),
            doc.FIELD_MODIFIED_AT: item.modified_at,
        }

    def stock_page(
        self, after: str | None, limit: int, modified_after: datetime | None
    ) -> list[StoredItem]:
        """Up to `limit` items ordered by ExternalNo, after `after`."""
        if self._sorted_items is None:
            self._sorted_items = sorted(self.items)
        start = 0 if after is None else bisect.bisect_right(self._sorted_items, after)
        page = []
        for external_no in self._sorted_items[start:]:
            item = self.items[external_no]
            if (
                modified_after is None
                or doc.parse_timestamp(item.modified_at) > modified_after
            ):
                page.append(item)
                if len(page) == limit:
                    break
        return page

    def _reserve(self, external_no: str, quantity: int) -> None:
        self.reserved[external_no] = self.reserved.get(external_no, 0) + quantity

    # --- shipping ----------------------------------------------------------

    def open_order(self, external_reference: str) -> StoredOrder | None:
        """The first unshipped shipment order with this reference."""
        for order in self.orders_by_reference.get(external_reference, []):
            if not order.shipped:
                return order
        return None

    def ship(self, order: StoredOrder) -> None:
        """Mark an order shipped: its stock leaves the warehouse and the hold ends."""
        order.shipped = True
        moment = _now()
        for external_no, quantity in order.lines:
            amount = int(Decimal(quantity))
            self._reserve(external_no, -amount)
            item = self.items.get(external_no)
            if item is not None:
                self.set_stock(external_no, item.qty_in_inventory - amount, moment)

    def next_shipment_no(self) -> str:
        """Boltrics' next shipment number, e.g. UIT-000001."""
        self.shipment_counter += 1
        return f"UIT-{self.shipment_counter:06d}"

    def orders_sharing_reference(self) -> int:
        """How many shipment orders share their ExternalReference with another."""
        return sum(
            len(group) for group in self.orders_by_reference.values() if len(group) > 1
        )

    # --- persistence -------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Everything this company holds, as JSON-ready data."""
        return {
            "messages": [asdict(m) for m in self.messages.values()],
            "items": [asdict(i) for i in self.items.values()],
            "orders": [asdict(o) for o in self.orders],
            "shipmentCounter": self.shipment_counter,
        }

    @classmethod
    def from_json(cls, company_id: str, data: dict[str, Any]) -> Company:
        """A company restored from `to_json` data."""
        company = cls(company_id)
        for message in data.get("messages", []):
            company.add_message(StoredMessage(**message))
        for item in data.get("items", []):
            company.items[item["external_no"]] = StoredItem(**item)
        for order in data.get("orders", []):
            stored = StoredOrder(
                **{**order, "lines": [tuple(x) for x in order["lines"]]}
            )
            company.orders.append(stored)
            company.orders_by_reference.setdefault(
                stored.external_reference, []
            ).append(stored)
            if not stored.shipped:
                for external_no, quantity in stored.lines:
                    company._reserve(external_no, int(Decimal(quantity)))
        company.shipment_counter = int(data.get("shipmentCounter", 0))
        return company


class _Refused(Exception):
    """Boltrics refuses to process a message; the text becomes its errorText."""


def _matches(message: StoredMessage, conditions: dict[str, str]) -> bool:
    for name, value in conditions.items():
        if name == doc.FIELD_DIRECTION and message.direction != value:
            return False
        if name == doc.FIELD_STATUS and message.status != value:
            return False
        if name == doc.FIELD_MESSAGE_TYPE and message.message_type != value:
            return False
        if name == doc.FIELD_EXTERNAL_REFERENCE and message.external_reference != value:
            return False
    return True


class Companies:
    """Every company the sandbox has seen, created on first use."""

    def __init__(self) -> None:
        self._companies: dict[str, Company] = {}
        self.next_seq: Callable[[], int] = _counter()

    def get(self, company_id: str) -> Company:
        """The company with this id, created when new."""
        company = self._companies.get(company_id)
        if company is None:
            company = Company(company_id)
            self._companies[company_id] = company
        return company

    def __iter__(self) -> Iterator[Company]:
        return iter(list(self._companies.values()))

    def save(self, path: Path) -> None:
        """Write every company to `path` (atomically, via a temporary file)."""
        data = {c.company_id: c.to_json() for c in self}
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, path)

    def load(self, path: Path) -> None:
        """Read companies saved by `save`; a missing file means an empty sandbox."""
        if not path.exists():
            return
        data = json.loads(path.read_text(encoding="utf-8"))
        highest = 0
        for company_id, company_data in data.items():
            company = Company.from_json(company_id, company_data)
            self._companies[company_id] = company
            highest = max([highest, *(m.seq for m in company.messages.values())])
        self.next_seq = _counter(highest)


def _counter(start: int = 0) -> Callable[[], int]:
    state = [start]

    def next_value() -> int:
        state[0] += 1
        return state[0]

    return next_value


def today() -> date:
    """The sandbox's date, in UTC."""
    return _now().date()
