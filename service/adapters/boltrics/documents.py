"""Every name of the Boltrics contract, and the four XML documents.

This is the one module that knows Boltrics' vocabulary: XML element names,
namespaces, attribute codes, REST paths and JSON field names. Adapting to a
particular warehouse is a change here (or of a setting), nowhere else. The
sandbox uses the same names, so both sides of the contract stay in step.

XML from outside is parsed safely: the size is limited, anything but UTF-8 is
refused, a document with a DOCTYPE or an entity declaration is rejected before
the parser sees it, and the parser itself loads no DTD, resolves no entity and
never touches the network. Every problem is a `DocumentError`.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NamedTuple

from lxml import etree  # type: ignore[import-untyped,unused-ignore]  # no stubs in the project's dependencies

from service.adapters.boltrics.errors import DocumentError

# --- The REST resources ------------------------------------------------------


class MessageType(StrEnum):
    """The kinds of DI message the connector exchanges."""

    RECEIVE_SHIPMENT = "receiveshipment"
    MATERIAL_MASTER_DATA = "materialmasterdata"
    SEND_SHIPMENT = "sendshipment"
    STOCK_STATUS = "stockstatus"


INBOUND_TYPES = frozenset(
    {MessageType.RECEIVE_SHIPMENT, MessageType.MATERIAL_MASTER_DATA}
)


class Direction(StrEnum):
    """Which way a message travels, seen from Boltrics."""

    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


class MessageStatus(StrEnum):
    """Where a message is in Boltrics' processing."""

    NEW = "New"
    PROCESSING = "Processing"
    PROCESSED = "Processed"
    SKIPPED = "Skipped"
    FAILED = "Failed"


class ProcessAction(StrEnum):
    """The header's `ProcesAction` (Boltrics' spelling)."""

    INSERT = "INSERT"
    UPDATE = "UPDATE"


COMPANY_PATH = "/companies({company_id})"
MESSAGES_PATH = "/diMessages"
MESSAGE_PATH = "/diMessages({message_id})"
STOCK_LEVELS_PATH = "/stockLevels"
MAX_MESSAGE_PAGE = 100
MAX_STOCK_PAGE = 1000
MAX_EXTERNAL_REFERENCE = 100

QUERY_FILTER = "$filter"
QUERY_TOP = "$top"
QUERY_SKIP_TOKEN = "$skiptoken"  # noqa: S105 - an OData parameter name, no secret
PAGE_VALUE = "value"
PAGE_NEXT_LINK = "@odata.nextLink"
IF_MATCH = "If-Match"
RETRY_AFTER = "Retry-After"

FIELD_ID = "id"
FIELD_MESSAGE_TYPE = "messageType"
FIELD_DIRECTION = "direction"
FIELD_STATUS = "status"
FIELD_EXTERNAL_REFERENCE = "externalReference"
FIELD_CONTENT = "content"
FIELD_ERROR_TEXT = "errorText"
FIELD_CREATED_AT = "createdAt"
FIELD_ETAG = "@odata.etag"
FIELD_EXTERNAL_NO = "externalNo"
FIELD_QTY_IN_INVENTORY = "qtyInInventory"
FIELD_QTY_AVAILABLE = "qtyAvailable"
FIELD_MODIFIED_AT = "modifiedAt"
MESSAGE_FILTER_FIELDS = frozenset(
    {FIELD_DIRECTION, FIELD_STATUS, FIELD_MESSAGE_TYPE, FIELD_EXTERNAL_REFERENCE}
)

TOKEN_GRANT_TYPE = "client_credentials"  # noqa: S105 - an OAuth2 grant name


@dataclass(frozen=True)
class DiMessage:
    """One `diMessages` resource, its content decoded to XML bytes."""

    id: str
    message_type: str
    direction: str
    status: str
    external_reference: str
    content: bytes
    error_text: str
    created_at: datetime
    etag: str


class StockLevel(NamedTuple):
    """One row of `stockLevels`: the warehouse's figures for one item.

    A named tuple rather than a dataclass: a full sync makes one for every
    item the warehouse holds, and a tuple is made in a fraction of the time.
    """

    external_no: str
    qty_in_inventory: int
    qty_available: int
    modified_at: datetime


def company_url(base_url: str, company_id: str) -> str:
    """The `{api}` root of one company."""
    return base_url.rstrip("/") + COMPANY_PATH.format(company_id=company_id)


def encode_content(xml: bytes) -> str:
    """Base64 text of an XML document, as `content` carries it."""
    return base64.b64encode(xml).decode("ascii")


def decode_content(text: str) -> bytes:
    """The XML bytes of a `content` field; malformed base64 is a DocumentError."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        msg = "content is not valid base64"
        raise DocumentError(msg) from exc


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as Boltrics writes `createdAt`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp; a malformed one is a DocumentError."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        msg = f"not an RFC 3339 timestamp: {text!r}"
        raise DocumentError(msg) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def message_from_json(resource: Mapping[str, Any]) -> DiMessage:
    """A DiMessage from its JSON resource; a malformed one is a DocumentError.

    A `content` that is not valid base64 becomes empty content rather than an
    error: one bad message must not fail the listing of all the others, and its
    reader rejects the empty document and acknowledges it like any bad one.
    """
    try:
        return DiMessage(
            id=str(resource[FIELD_ID]),
            message_type=str(resource[FIELD_MESSAGE_TYPE]),
            direction=str(resource[FIELD_DIRECTION]),
            status=str(resource[FIELD_STATUS]),
            external_reference=str(resource.get(FIELD_EXTERNAL_REFERENCE) or ""),
            content=_content_or_empty(str(resource.get(FIELD_CONTENT) or "")),
            error_text=str(resource.get(FIELD_ERROR_TEXT) or ""),
            created_at=parse_timestamp(str(resource[FIELD_CREATED_AT])),
            etag=str(resource[FIELD_ETAG]),
        )
    except KeyError as exc:
        msg = f"diMessages resource without {exc.args[0]}"
        raise DocumentError(msg) from exc


def _content_or_empty(text: str) -> bytes:
    try:
        return decode_content(text)
    except DocumentError:
        return b""


def stock_levels_from_json(rows: Iterable[Mapping[str, Any]]) -> list[StockLevel]:
    """The StockLevels of a page's JSON rows; a malformed row is a DocumentError."""
    # A full sync makes 100,000 of these: tuple.__new__ skips the named
    # tuple's own __new__, which costs as much again as the parsing.
    make, moment = tuple.__new__, datetime.fromisoformat
    try:
        levels = [
            make(
                StockLevel,
                (
                    str(row[FIELD_EXTERNAL_NO]),
                    int(row[FIELD_QTY_IN_INVENTORY]),
                    int(row[FIELD_QTY_AVAILABLE]),
                    moment(row[FIELD_MODIFIED_AT]),
                ),
            )
            for row in rows
        ]
    except KeyError as exc:
        msg = f"stockLevels row without {exc.args[0]}"
        raise DocumentError(msg) from exc
    except (TypeError, ValueError) as exc:
        msg = f"stockLevels row with a malformed quantity or date: {exc}"
        raise DocumentError(msg) from exc
    # Boltrics writes its dates with an offset; one without is taken as UTC.
    if all(level.modified_at.tzinfo for level in levels):
        return levels
    return [level if level.modified_at.tzinfo else _in_utc(level) for level in levels]


def _in_utc(level: StockLevel) -> StockLevel:
    return level._replace(modified_at=level.modified_at.replace(tzinfo=UTC))


def build_filter(conditions: Mapping[str, str]) -> str:
    """An OData `$filter` of `eq` comparisons joined by `and`."""
    return " and ".join(
        f"{name} eq '{value.replace(chr(39), chr(39) * 2)}'"
        for name, value in conditions.items()
    )


_CONDITION = re.compile(r"\s*(\w+)\s+(eq|gt)\s+(?:'((?:[^']|'')*)'|([^\s']+))\s*")
_AND = re.compile(r"and\s+")


def parse_filter(text: str) -> list[tuple[str, str, str]]:
    """The (field, operator, value) triples of a `$filter`; ValueError if malformed."""
    conditions = []
    position = 0
    while True:
        match = _CONDITION.match(text, position)
        if match is None:
            msg = f"cannot read the filter at {text[position:]!r}"
            raise ValueError(msg)
        quoted, bare = match.group(3), match.group(4)
        value = quoted.replace("''", "'") if quoted is not None else bare
        conditions.append((match.group(1), match.group(2), value))

        position = match.end()
        if position == len(text):
            return conditions
        joined = _AND.match(text, position)
        if joined is None:
            msg = f"expected 'and' at {text[position:]!r}"
            raise ValueError(msg)
        position = joined.end()


# --- XML: names --------------------------------------------------------------

NAMESPACE_FORMAT = "www.boltrics.nl/{message_type}:v1.00"
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_ITEMS_PER_MESSAGE = 500
BASE_UNIT_OF_MEASURE = "PCS"
ATTRIBUTE_SHIPPING_AGENT = "SHIPAGENT"
ATTRIBUTE_CHANNEL = "CHANNEL"
ATTRIBUTE_TRACK_TRACE = "TRACKTRACE"
ATTRIBUTE_TRACK_URL = "TRACKURL"

E_MESSAGE = "Message"
E_HEADER = "Header"
E_MESSAGE_ID = "MessageID"
E_CREATION_DATE_TIME = "CreationDateTime"
E_PROCES_ACTION = "ProcesAction"
E_FROM_PARTNER = "FromTradingPartner"
E_TO_PARTNER = "ToTradingPartner"
E_DOCUMENTS = "Documents"
E_DOCUMENT = "Document"
E_DOCUMENT_DATE = "DocumentDate"
E_EXTERNAL_DOCUMENT_NO = "ExternalDocumentNo"
E_EXTERNAL_REFERENCE = "ExternalReference"
E_SHIP_TO_ADDRESS = "ShipToAddress"
E_NAME = "Name"
E_NAME2 = "Name2"
E_ADDRESS = "Address"
E_ADDRESS2 = "Address2"
E_POST_CODE = "PostCode"
E_CITY = "City"
E_COUNTRY_CODE = "CountryCode"
E_EMAIL = "Email"
E_PHONE = "Phone"
E_ATTRIBUTES = "Attributes"
E_ATTRIBUTE = "Attribute"
E_CODE = "Code"
E_VALUE = "Value"
E_DOCUMENT_LINES = "DocumentLines"
E_DOCUMENT_LINE = "DocumentLine"
E_EXTERNAL_NO = "ExternalNo"
E_DESCRIPTION = "Description"
E_ORDER_QUANTITY = "OrderQuantity"
E_CUSTOMER_ITEMS = "CustomerItems"
E_CUSTOMER_ITEM = "CustomerItem"
E_BASE_UNIT_OF_MEASURE = "BaseUnitofMeasure"
E_UNIT_OF_MEASURES = "UnitOfMeasures"
E_UNIT_OF_MEASURE = "UnitOfMeasure"
E_GROSS_WEIGHT = "GrossWeight"
E_EAN_CODE = "EANCode"
E_NO = "No"
E_POSTING_DATE = "PostingDate"
E_SHIPPING_AGENT_CODE = "ShippingAgentCode"
E_SHIPPING_AGENT_NAME = "ShippingAgentName"
E_QTY_POSTED = "QtyPosted"
E_CUSTOMERS = "Customers"
E_CUSTOMER = "Customer"
E_ITEMS = "Items"
E_ITEM = "Item"
E_QTY_IN_INVENTORY = "QtyInInventory"
E_QTY_AVAILABLE = "QtyAvailable"

_DATE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ENCODING_DECLARATION = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")


def namespace(message_type: str) -> str:
    """The default namespace of a document of this message type."""
    return NAMESPACE_FORMAT.format(message_type=message_type)


# --- XML: the documents ------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """The `Header` every document starts with."""

    message_id: str
    created_at: datetime
    action: ProcessAction
    from_partner: str
    to_partner: str

    @classmethod
    def new(
        cls,
        from_partner: str,
        to_partner: str,
        *,
        action: ProcessAction = ProcessAction.INSERT,
        now: datetime | None = None,
    ) -> Header:
        """A header with a fresh message id, dated now (to the second, UTC)."""
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        return cls(
            message_id="{" + str(uuid.uuid4()).upper() + "}",
            created_at=moment,
            action=action,
            from_partner=from_partner,
            to_partner=to_partner,
        )


@dataclass(frozen=True)
class Address:
    """A ship-to address; a field without a value is None and left out."""

    name: str | None = None
    name2: str | None = None
    address: str | None = None
    address2: str | None = None
    postcode: str | None = None
    city: str | None = None
    country_code: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ShipmentOrderLine:
    """One line of an order to ship."""

    external_no: str
    quantity: Decimal
    description: str = ""


@dataclass(frozen=True)
class ShipmentOrder:
    """A `receiveshipment` document: one order for the warehouse to ship."""

    header: Header
    document_date: date
    external_document_no: str
    external_reference: str
    ship_to: Address
    lines: tuple[ShipmentOrderLine, ...]
    shipping_agent: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class CustomerItem:
    """One product in a `materialmasterdata` document."""

    external_no: str
    description: str = ""
    gross_weight: Decimal | None = None
    ean_code: str | None = None


@dataclass(frozen=True)
class MaterialMasterData:
    """A `materialmasterdata` document: at most 500 products to insert or update."""

    header: Header
    items: tuple[CustomerItem, ...]


@dataclass(frozen=True)
class ShippedLine:
    """One line of a shipment confirmation."""

    external_no: str
    qty_posted: Decimal


@dataclass(frozen=True)
class ShipmentConfirmation:
    """A `sendshipment` document: Boltrics shipped an order."""

    header: Header
    no: str
    external_document_no: str
    external_reference: str
    posting_date: date
    lines: tuple[ShippedLine, ...]
    shipping_agent_code: str | None = None
    shipping_agent_name: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def attribute(self, code: str) -> str | None:
        """The value of the attribute with this code, if there is one."""
        return self.attributes.get(code)

    def tracking_number(self, code: str = ATTRIBUTE_TRACK_TRACE) -> str | None:
        """The track & trace number, read from the attribute `code` (a setting)."""
        return self.attribute(code)

    def tracking_url(self, code: str = ATTRIBUTE_TRACK_URL) -> str | None:
        """The tracking link, read from the attribute `code` (a setting)."""
        return self.attribute(code)


@dataclass(frozen=True)
class StockStatusItem:
    """The figures of one item in a `stockstatus` document."""

    external_no: str
    qty_in_inventory: Decimal
    qty_available: Decimal
    description: str = ""


@dataclass(frozen=True)
class RejectedStockItem:
    """An item of a `stockstatus` that was left out, and why."""

    external_no: str | None
    reason: str


@dataclass(frozen=True)
class StockStatus:
    """A `stockstatus` document; `header.created_at` dates the figures.

    Parsing rejects an item with a missing, non-numeric or negative quantity
    into `rejected`, with the reason, and keeps the others in `items`.
    """

    header: Header
    items: tuple[StockStatusItem, ...]
    rejected: tuple[RejectedStockItem, ...] = ()


# --- XML: building -----------------------------------------------------------


class _Builder:
    """Writes elements in one namespace, leaving out those without a value."""

    def __init__(self, message_type: MessageType) -> None:
        self.message_type = message_type
        self.ns = namespace(message_type)
        self.root: Any = etree.Element(self.q(E_MESSAGE), nsmap={None: self.ns})

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def element(self, parent: Any, tag: str) -> Any:
        return etree.SubElement(parent, self.q(tag))

    def text(self, parent: Any, tag: str, value: str | None) -> None:
        if value:
            self.element(parent, tag).text = value

    def header(self, header: Header) -> None:
        element = self.element(self.root, E_HEADER)
        self.text(element, E_MESSAGE_ID, header.message_id)
        created = header.created_at.astimezone(UTC).strftime(_DATE_TIME_FORMAT)
        self.text(element, E_CREATION_DATE_TIME, created)
        self.text(element, E_PROCES_ACTION, header.action.value)
        self.text(element, E_FROM_PARTNER, header.from_partner)
        self.text(element, E_TO_PARTNER, header.to_partner)

    def attributes(
        self, parent: Any, attributes: Iterable[tuple[str, str | None]]
    ) -> None:
        present = [(code, value) for code, value in attributes if value]
        if not present:
            return
        container = self.element(parent, E_ATTRIBUTES)
        for code, value in present:
            attribute = self.element(container, E_ATTRIBUTE)
            self.text(attribute, E_CODE, code)
            self.text(attribute, E_VALUE, value)

    def serialize(self) -> bytes:
        data: bytes = etree.tostring(self.root, encoding="UTF-8", xml_declaration=True)
        return data


def _decimal_text(value: Decimal | None, what: str) -> str | None:
    if value is None:
        return None
    if not value.is_finite():
        msg = f"{what} must be a finite number, not {value}"
        raise DocumentError(msg)
    return format(value, "f")


def _build(message_type: MessageType, header: Header, body: Any) -> bytes:
    """Run `body(builder)` after the header; invalid characters are DocumentErrors."""
    builder = _Builder(message_type)
    try:
        builder.header(header)
        body(builder)
    except ValueError as exc:  # lxml refuses text that XML cannot hold
        msg = f"{message_type}: cannot build the document: {exc}"
        raise DocumentError(msg) from exc
    return builder.serialize()


def build_shipment_order(order: ShipmentOrder) -> bytes:
    """The `receiveshipment` XML of an order."""

    def body(b: _Builder) -> None:
        document = b.element(b.element(b.root, E_DOCUMENTS), E_DOCUMENT)
        b.text(document, E_DOCUMENT_DATE, order.document_date.isoformat())
        b.text(document, E_EXTERNAL_DOCUMENT_NO, order.external_document_no)
        b.text(document, E_EXTERNAL_REFERENCE, order.external_reference)
        _build_address(b, document, order.ship_to)
        b.attributes(
            document,
            [
                (ATTRIBUTE_SHIPPING_AGENT, order.shipping_agent),
                (ATTRIBUTE_CHANNEL, order.channel),
            ],
        )
        lines = b.element(document, E_DOCUMENT_LINES)
        for line in order.lines:
            element = b.element(lines, E_DOCUMENT_LINE)
            b.text(element, E_EXTERNAL_NO, line.external_no)
            b.text(element, E_DESCRIPTION, line.description)
            b.text(element, E_ORDER_QUANTITY, _decimal_text(line.quantity, "quantity"))

    return _build(MessageType.RECEIVE_SHIPMENT, order.header, body)


def _build_address(b: _Builder, parent: Any, address: Address) -> None:
    element = b.element(parent, E_SHIP_TO_ADDRESS)
    for tag, value in _address_fields(address):
        b.text(element, tag, value)


def _address_fields(address: Address) -> list[tuple[str, str | None]]:
    return [
        (E_NAME, address.name),
        (E_NAME2, address.name2),
        (E_ADDRESS, address.address),
        (E_ADDRESS2, address.address2),
        (E_POST_CODE, address.postcode),
        (E_CITY, address.city),
        (E_COUNTRY_CODE, address.country_code),
        (E_EMAIL, address.email),
        (E_PHONE, address.phone),
    ]


def build_material_master_data(data: MaterialMasterData) -> bytes:
    """The `materialmasterdata` XML of up to 500 products."""
    _check_item_count(len(data.items))

    def body(b: _Builder) -> None:
        items = b.element(b.root, E_CUSTOMER_ITEMS)
        for item in data.items:
            element = b.element(items, E_CUSTOMER_ITEM)
            b.text(element, E_EXTERNAL_NO, item.external_no)
            b.text(element, E_DESCRIPTION, item.description)
            b.text(element, E_BASE_UNIT_OF_MEASURE, BASE_UNIT_OF_MEASURE)
            unit = b.element(b.element(element, E_UNIT_OF_MEASURES), E_UNIT_OF_MEASURE)
            b.text(unit, E_CODE, BASE_UNIT_OF_MEASURE)
            b.text(unit, E_GROSS_WEIGHT, _decimal_text(item.gross_weight, "weight"))
            b.text(unit, E_EAN_CODE, item.ean_code)

    return _build(MessageType.MATERIAL_MASTER_DATA, data.header, body)


def _check_item_count(count: int) -> None:
    if count > MAX_ITEMS_PER_MESSAGE:
        msg = f"materialmasterdata: {count} items, at most {MAX_ITEMS_PER_MESSAGE}"
        raise DocumentError(msg)


def build_shipment_confirmation(confirmation: ShipmentConfirmation) -> bytes:
    """The `sendshipment` XML of a shipment confirmation."""

    def body(b: _Builder) -> None:
        document = b.element(b.element(b.root, E_DOCUMENTS), E_DOCUMENT)
        b.text(document, E_NO, confirmation.no)
        b.text(document, E_EXTERNAL_DOCUMENT_NO, confirmation.external_document_no)
        b.text(document, E_EXTERNAL_REFERENCE, confirmation.external_reference)
        b.text(document, E_POSTING_DATE, confirmation.posting_date.isoformat())
        b.text(document, E_SHIPPING_AGENT_CODE, confirmation.shipping_agent_code)
        b.text(document, E_SHIPPING_AGENT_NAME, confirmation.shipping_agent_name)
        b.attributes(document, confirmation.attributes.items())
        lines = b.element(document, E_DOCUMENT_LINES)
        for line in confirmation.lines:
            element = b.element(lines, E_DOCUMENT_LINE)
            b.text(element, E_EXTERNAL_NO, line.external_no)
            b.text(element, E_QTY_POSTED, _decimal_text(line.qty_posted, "quantity"))

    return _build(MessageType.SEND_SHIPMENT, confirmation.header, body)


def build_stock_status(status: StockStatus) -> bytes:
    """The `stockstatus` XML of stock figures (`rejected` is not written)."""

    def body(b: _Builder) -> None:
        customer = b.element(b.element(b.root, E_CUSTOMERS), E_CUSTOMER)
        items = b.element(customer, E_ITEMS)
        for item in status.items:
            element = b.element(items, E_ITEM)
            b.text(element, E_EXTERNAL_NO, item.external_no)
            b.text(element, E_DESCRIPTION, item.description)
            b.text(
                element, E_QTY_IN_INVENTORY, _decimal_text(item.qty_in_inventory, "qty")
            )
            b.text(element, E_QTY_AVAILABLE, _decimal_text(item.qty_available, "qty"))

    return _build(MessageType.STOCK_STATUS, status.header, body)


# --- XML: safe parsing -------------------------------------------------------


def _safe_parser() -> Any:
    # A parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def check_hostile(data: bytes) -> None:
    """Refuse a document that is too big, not UTF-8, or declares a DTD or entity."""
    if len(data) > MAX_DOCUMENT_BYTES:
        msg = f"document of {len(data)} bytes exceeds the limit of {MAX_DOCUMENT_BYTES}"
        raise DocumentError(msg)

    declared = _ENCODING_DECLARATION.match(data)
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    if encoding.replace("_", "-") not in ("utf-8", "utf8"):
        msg = f"document is in {encoding}; only UTF-8 is accepted"
        raise DocumentError(msg)

    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = "document is not valid UTF-8"
        raise DocumentError(msg) from exc

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        msg = "document declares a DTD or entities; refused unexpanded"
        raise DocumentError(msg)


class _Reader:
    """Reads one parsed document, naming its place in every error."""

    def __init__(self, data: bytes, message_type: MessageType) -> None:
        check_hostile(data)
        try:
            self.root: Any = etree.fromstring(data, _safe_parser())
        except etree.XMLSyntaxError as exc:
            msg = f"{message_type}: not well-formed XML: {exc}"
            raise DocumentError(msg) from exc

        self.message_type = message_type
        self.ns = namespace(message_type)
        if self.root.tag != self.q(E_MESSAGE):
            msg = (
                f"{message_type}: root is {self.root.tag}, expected {self.q(E_MESSAGE)}"
            )
            raise DocumentError(msg)

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def path(self, *tags: str) -> str:
        return "/".join(self.q(tag) for tag in tags)

    def fail(self, problem: str) -> DocumentError:
        return DocumentError(f"{self.message_type}: {problem}")

    def child(self, parent: Any, *tags: str) -> Any:
        element = parent.find(self.path(*tags))
        if element is None:
            raise self.fail(f"{'/'.join(tags)} is missing")
        return element

    def children(self, parent: Any, *tags: str) -> Iterator[Any]:
        yield from parent.iterfind(self.path(*tags))

    def optional(self, parent: Any, tag: str) -> str | None:
        text: str | None = parent.findtext(self.q(tag))
        return text or None

    def text(self, parent: Any, tag: str) -> str:
        return self.optional(parent, tag) or ""

    def required(self, parent: Any, tag: str) -> str:
        text = self.optional(parent, tag)
        if text is None:
            raise self.fail(f"{tag} is missing")
        return text

    def decimal(self, parent: Any, tag: str) -> Decimal:
        return parse_decimal(self.required(parent, tag), f"{self.message_type}: {tag}")

    def date(self, parent: Any, tag: str) -> date:
        text = self.required(parent, tag)
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise self.fail(f"{tag} is not a date: {text!r}") from exc

    def header(self) -> Header:
        element = self.child(self.root, E_HEADER)
        created = self.required(element, E_CREATION_DATE_TIME)
        action = self.required(element, E_PROCES_ACTION)
        try:
            created_at = _creation_moment(created)
            process_action = ProcessAction(action)
        except ValueError as exc:
            raise self.fail(f"malformed header: {exc}") from exc
        return Header(
            message_id=self.text(element, E_MESSAGE_ID),
            created_at=created_at,
            action=process_action,
            from_partner=self.text(element, E_FROM_PARTNER),
            to_partner=self.text(element, E_TO_PARTNER),
        )

    def attributes(self, parent: Any) -> dict[str, str]:
        attributes = {}
        for element in self.children(parent, E_ATTRIBUTES, E_ATTRIBUTE):
            attributes[self.required(element, E_CODE)] = self.text(element, E_VALUE)
        return attributes


def _creation_moment(text: str) -> datetime:
    """A header's CreationDateTime: `YYYY-MM-DDThh:mm:ss` in UTC, as the
    contract has it; ISO 8601 with an offset or a fraction is taken too (in
    UTC, to the second: a figure dated a little early is the safe side), as
    one unexpected date would lose a whole message's items."""
    try:
        return datetime.strptime(text, _DATE_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).replace(microsecond=0)
    except OverflowError as exc:  # the first or last hours of the calendar
        msg = f"{text!r} is out of range in UTC"
        raise ValueError(msg) from exc


def parse_decimal(text: str, what: str) -> Decimal:
    """A decimal with a dot and no exponent; anything else is a DocumentError."""
    if not _DECIMAL.fullmatch(text.strip()):
        msg = f"{what} is not a number: {text!r}"
        raise DocumentError(msg)
    try:
        return Decimal(text.strip())
    except (
        InvalidOperation
    ) as exc:  # pragma: no cover - the pattern admits only numbers
        msg = f"{what} is not a number: {text!r}"
        raise DocumentError(msg) from exc


def parse_shipment_order(data: bytes) -> ShipmentOrder:
    """A `receiveshipment` document from XML bytes from outside."""
    r = _Reader(data, MessageType.RECEIVE_SHIPMENT)
    document = r.child(r.root, E_DOCUMENTS, E_DOCUMENT)
    attributes = r.attributes(document)
    return ShipmentOrder(
        header=r.header(),
        document_date=r.date(document, E_DOCUMENT_DATE),
        external_document_no=r.text(document, E_EXTERNAL_DOCUMENT_NO),
        external_reference=r.required(document, E_EXTERNAL_REFERENCE),
        ship_to=_parse_address(r, document),
        lines=tuple(
            ShipmentOrderLine(
                external_no=r.required(line, E_EXTERNAL_NO),
                quantity=r.decimal(line, E_ORDER_QUANTITY),
                description=r.text(line, E_DESCRIPTION),
            )
            for line in r.children(document, E_DOCUMENT_LINES, E_DOCUMENT_LINE)
        ),
        shipping_agent=attributes.get(ATTRIBUTE_SHIPPING_AGENT) or None,
        channel=attributes.get(ATTRIBUTE_CHANNEL) or None,
    )


def _parse_address(r: _Reader, document: Any) -> Address:
    element = document.find(r.q(E_SHIP_TO_ADDRESS))
    if element is None:
        return Address()
    values = [r.optional(element, tag) for tag, _ in _address_fields(Address())]
    return Address(*values)


def parse_material_master_data(data: bytes) -> MaterialMasterData:
    """A `materialmasterdata` document from XML bytes from outside."""
    r = _Reader(data, MessageType.MATERIAL_MASTER_DATA)
    items = []
    for element in r.children(r.root, E_CUSTOMER_ITEMS, E_CUSTOMER_ITEM):
        unit = element.find(r.path(E_UNIT_OF_MEASURES, E_UNIT_OF_MEASURE))
        weight = None if unit is None else r.optional(unit, E_GROSS_WEIGHT)
        items.append(
            CustomerItem(
                external_no=r.required(element, E_EXTERNAL_NO),
                description=r.text(element, E_DESCRIPTION),
                gross_weight=None
                if weight is None
                else parse_decimal(weight, "weight"),
                ean_code=None if unit is None else r.optional(unit, E_EAN_CODE),
            )
        )
    _check_item_count(len(items))
    return MaterialMasterData(header=r.header(), items=tuple(items))


def parse_shipment_confirmation(data: bytes) -> ShipmentConfirmation:
    """A `sendshipment` document from XML bytes from outside."""
    r = _Reader(data, MessageType.SEND_SHIPMENT)
    document = r.child(r.root, E_DOCUMENTS, E_DOCUMENT)
    return ShipmentConfirmation(
        header=r.header(),
        no=r.required(document, E_NO),
        external_document_no=r.text(document, E_EXTERNAL_DOCUMENT_NO),
        external_reference=r.required(document, E_EXTERNAL_REFERENCE),
        posting_date=r.date(document, E_POSTING_DATE),
        lines=tuple(
            ShippedLine(
                external_no=r.required(line, E_EXTERNAL_NO),
                qty_posted=r.decimal(line, E_QTY_POSTED),
            )
            for line in r.children(document, E_DOCUMENT_LINES, E_DOCUMENT_LINE)
        ),
        shipping_agent_code=r.optional(document, E_SHIPPING_AGENT_CODE),
        shipping_agent_name=r.optional(document, E_SHIPPING_AGENT_NAME),
        attributes=r.attributes(document),
    )


def parse_stock_status(data: bytes) -> StockStatus:
    """A `stockstatus` document; items with bad quantities go to `rejected`."""
    r = _Reader(data, MessageType.STOCK_STATUS)
    items: list[StockStatusItem] = []
    rejected: list[RejectedStockItem] = []
    for element in r.children(r.root, E_CUSTOMERS, E_CUSTOMER, E_ITEMS, E_ITEM):
        try:
            items.append(_parse_stock_item(r, element))
        except DocumentError as exc:
            rejected.append(
                RejectedStockItem(r.optional(element, E_EXTERNAL_NO), exc.message)
            )
    return StockStatus(header=r.header(), items=tuple(items), rejected=tuple(rejected))


def _parse_stock_item(r: _Reader, element: Any) -> StockStatusItem:
    item = StockStatusItem(
        external_no=r.required(element, E_EXTERNAL_NO),
        qty_in_inventory=r.decimal(element, E_QTY_IN_INVENTORY),
        qty_available=r.decimal(element, E_QTY_AVAILABLE),
        description=r.text(element, E_DESCRIPTION),
    )
    if item.qty_in_inventory < 0 or item.qty_available < 0:
        raise r.fail(f"item {item.external_no} has a negative quantity")
    return item


def message_type_of(data: bytes) -> MessageType:
    """Which of the four documents this XML is, read from its namespace."""
    check_hostile(data)
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        msg = f"not well-formed XML: {exc}"
        raise DocumentError(msg) from exc
    for message_type in MessageType:
        if root.tag == f"{{{namespace(message_type)}}}{E_MESSAGE}":
            return message_type
    msg = f"not a Boltrics document: root {root.tag}"
    raise DocumentError(msg)
