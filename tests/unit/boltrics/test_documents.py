"""Building and parsing the four Boltrics documents, and refusing hostile XML."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.adapters.boltrics import documents as doc
from service.adapters.boltrics.documents import (
    Address,
    CustomerItem,
    DocumentError,
    Header,
    MaterialMasterData,
    ProcessAction,
    ShipmentConfirmation,
    ShipmentOrder,
    ShipmentOrderLine,
    ShippedLine,
    StockStatus,
    StockStatusItem,
    message_from_json,
)

SPECIAL = st.sampled_from(["é", "ß", "😀", "&", "<", ">", "'", '"', " "])
PLAIN = st.characters(
    blacklist_categories=("Cc", "Cs", "Cn", "Co"), blacklist_characters="\ufeff"
)
TEXT = st.text(st.one_of(SPECIAL, PLAIN), min_size=1, max_size=30)
OPTIONAL_TEXT = st.none() | TEXT
QUANTITY = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False)
MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)
).map(lambda moment: moment.replace(microsecond=0, tzinfo=UTC))
HEADERS = st.builds(
    Header,
    message_id=TEXT,
    created_at=MOMENT,
    action=st.sampled_from(ProcessAction),
    from_partner=TEXT,
    to_partner=TEXT,
)
DESCRIPTION = st.just("") | TEXT


ORDERS = st.builds(
    ShipmentOrder,
    header=HEADERS,
    document_date=st.dates(),
    external_document_no=TEXT,
    external_reference=TEXT,
    ship_to=st.builds(Address, *[OPTIONAL_TEXT] * 9),
    lines=st.lists(
        st.builds(
            ShipmentOrderLine,
            external_no=TEXT,
            quantity=QUANTITY,
            description=DESCRIPTION,
        ),
        max_size=4,
    ).map(tuple),
    shipping_agent=OPTIONAL_TEXT,
    channel=OPTIONAL_TEXT,
)
MASTER_DATA = st.builds(
    MaterialMasterData,
    header=HEADERS,
    items=st.lists(
        st.builds(
            CustomerItem,
            external_no=TEXT,
            description=DESCRIPTION,
            gross_weight=st.none() | QUANTITY,
            ean_code=OPTIONAL_TEXT,
        ),
        max_size=4,
    ).map(tuple),
)
CONFIRMATIONS = st.builds(
    ShipmentConfirmation,
    header=HEADERS,
    no=TEXT,
    external_document_no=TEXT,
    external_reference=TEXT,
    posting_date=st.dates(),
    lines=st.lists(st.builds(ShippedLine, TEXT, QUANTITY), max_size=4).map(tuple),
    shipping_agent_code=OPTIONAL_TEXT,
    shipping_agent_name=OPTIONAL_TEXT,
    attributes=st.dictionaries(TEXT, TEXT, max_size=3),
)
STOCK = st.builds(
    StockStatus,
    header=HEADERS,
    items=st.lists(
        st.builds(
            StockStatusItem,
            external_no=TEXT,
            qty_in_inventory=QUANTITY,
            qty_available=QUANTITY,
            description=DESCRIPTION,
        ),
        max_size=4,
    ).map(tuple),
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Message xmlns="www.boltrics.nl/stockstatus:v1.00">&lol3;</Message>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Message xmlns="www.boltrics.nl/sendshipment:v1.00"><Header>&xxe;</Header></Message>"""


def stock_xml(
    *items: tuple[str, str, str], created: str = "2025-01-02T03:04:05"
) -> bytes:
    """A stockstatus with raw quantity texts, to test per-item rejection."""
    rows = "".join(
        f"<Item><ExternalNo>{no}</ExternalNo><QtyInInventory>{on_hand}</QtyInInventory>"
        f"<QtyAvailable>{available}</QtyAvailable></Item>"
        for no, on_hand, available in items
    )
    return (
        '<Message xmlns="www.boltrics.nl/stockstatus:v1.00"><Header>'
        f"<MessageID>{{1}}</MessageID><CreationDateTime>{created}</CreationDateTime>"
        "<ProcesAction>INSERT</ProcesAction></Header>"
        f"<Customers><Customer><Items>{rows}</Items></Customer></Customers></Message>"
    ).encode()


class TestRoundTrips:
    """Each document parses back to what was built, whatever the text holds."""

    @given(ORDERS)
    def test_shipment_order(self, order: ShipmentOrder) -> None:
        """A receiveshipment survives build and parse."""
        assert doc.parse_shipment_order(doc.build_shipment_order(order)) == order

    @given(MASTER_DATA)
    def test_material_master_data(self, data: MaterialMasterData) -> None:
        """A materialmasterdata survives build and parse."""
        assert (
            doc.parse_material_master_data(doc.build_material_master_data(data)) == data
        )

    @given(CONFIRMATIONS)
    def test_shipment_confirmation(self, confirmation: ShipmentConfirmation) -> None:
        """A sendshipment survives build and parse."""
        xml = doc.build_shipment_confirmation(confirmation)
        assert doc.parse_shipment_confirmation(xml) == confirmation

    @given(STOCK)
    def test_stock_status(self, status: StockStatus) -> None:
        """A stockstatus survives build and parse."""
        assert doc.parse_stock_status(doc.build_stock_status(status)) == status


class TestBuilding:
    """What the built XML looks like."""

    def test_elements_without_value_are_left_out(self) -> None:
        """Empty and missing address fields produce no element at all."""
        order = ShipmentOrder(
            header=Header.new("BUCKLES", "WH01"),
            document_date=date(2025, 1, 1),
            external_document_no="#1",
            external_reference="r1",
            ship_to=Address(name="Ann", name2="", country_code="NL"),
            lines=(ShipmentOrderLine("A", Decimal("2")),),
        )

        xml = doc.build_shipment_order(order)

        assert b"<Name>Ann</Name>" in xml
        assert (
            b"Name2" not in xml and b"PostCode" not in xml and b"Attributes" not in xml
        )

    def test_more_than_500_items_are_refused(self) -> None:
        """A materialmasterdata of 501 items is a DocumentError."""
        items = tuple(CustomerItem(f"SKU-{n}") for n in range(501))

        with pytest.raises(DocumentError, match="at most 500"):
            doc.build_material_master_data(
                MaterialMasterData(Header.new("B", "W"), items)
            )

    def test_tracking_number_reads_the_configured_code(self) -> None:
        """The tracking number comes from whichever attribute code is configured."""
        confirmation = ShipmentConfirmation(
            header=Header.new("WH01", "BUCKLES"),
            no="UIT-1",
            external_document_no="#1",
            external_reference="r1",
            posting_date=date(2025, 1, 1),
            lines=(),
            attributes={"TT": "3SABC", "TRACKTRACE": "other"},
        )

        assert confirmation.tracking_number("TT") == "3SABC"
        assert confirmation.tracking_number() == "other"


class TestHostileDocuments:
    """XML from outside is refused before anything is expanded."""

    def test_billion_laughs_is_rejected(self) -> None:
        """Nested entity definitions are refused as a DTD."""
        with pytest.raises(DocumentError, match="DTD"):
            doc.parse_stock_status(BILLION_LAUGHS)

    def test_external_entity_is_rejected(self) -> None:
        """An entity pointing at a local file is refused, never read."""
        with pytest.raises(DocumentError, match="DTD"):
            doc.parse_shipment_confirmation(EXTERNAL_ENTITY)

    def test_oversized_document_is_rejected(self) -> None:
        """A document over the size limit is refused unparsed."""
        huge = b"<Message>" + b" " * doc.MAX_DOCUMENT_BYTES + b"</Message>"

        with pytest.raises(DocumentError, match="exceeds the limit"):
            doc.parse_stock_status(huge)

    def test_other_encodings_are_rejected(self) -> None:
        """A document declared in UTF-16 is refused."""
        xml = '<?xml version="1.0" encoding="UTF-16"?><Message/>'.encode("utf-16")

        with pytest.raises(DocumentError):
            doc.parse_stock_status(xml)

    def test_wrong_document_type_is_rejected(self) -> None:
        """A sendshipment is not accepted as a stockstatus."""
        confirmation = ShipmentConfirmation(
            Header.new("W", "B"), "UIT-1", "#1", "r1", date(2025, 1, 1), ()
        )

        with pytest.raises(DocumentError, match="root is"):
            doc.parse_stock_status(doc.build_shipment_confirmation(confirmation))

    def test_malformed_xml_is_a_document_error(self) -> None:
        """Broken XML raises DocumentError, not an lxml exception."""
        with pytest.raises(DocumentError, match="not well-formed"):
            doc.parse_shipment_order(b"<Message><unclosed></Message>")


class TestStockStatusItems:
    """Bad quantities reject their item and leave the rest."""

    def test_negative_and_non_numeric_items_are_rejected_with_reasons(self) -> None:
        """Only the good item is kept; each bad one carries its reason."""
        xml = stock_xml(("GOOD", "5", "3"), ("NEG", "-1", "0"), ("NAN", "five", "1"))

        status = doc.parse_stock_status(xml)

        assert [item.external_no for item in status.items] == ["GOOD"]
        reasons = {item.external_no: item.reason for item in status.rejected}
        assert "negative" in reasons["NEG"] and "not a number" in reasons["NAN"]

    def test_creation_time_dates_the_figures(self) -> None:
        """The header's CreationDateTime is read as UTC."""
        status = doc.parse_stock_status(stock_xml())

        assert status.header.created_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    @pytest.mark.parametrize(
        "created",
        ["2025-01-02T03:04:05Z", "2025-01-02T04:04:05+01:00", "2025-01-02T03:04:05.9"],
    )
    def test_a_creation_time_with_an_offset_or_fraction_is_read(
        self, created: str
    ) -> None:
        """ISO 8601 beyond the contract's form is read in UTC, to the second,
        rather than losing the message's items."""
        status = doc.parse_stock_status(stock_xml(("A", "1", "1"), created=created))

        assert status.header.created_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert [item.external_no for item in status.items] == ["A"]

    @pytest.mark.parametrize(
        "created",
        ["yesterday", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00"],
    )
    def test_a_creation_time_that_is_no_usable_date_is_refused(
        self, created: str
    ) -> None:
        """Text that is no moment, or one beyond the calendar in UTC, makes
        the document malformed (a reason), never another error."""
        with pytest.raises(DocumentError, match="malformed header"):
            doc.parse_stock_status(stock_xml(created=created))


class TestFilters:
    """OData filters are built and read back."""

    @given(
        st.dictionaries(
            st.sampled_from(["direction", "status", "externalReference"]),
            TEXT | st.just("it's x and y"),
            min_size=1,
        )
    )
    def test_filter_round_trip(self, conditions: dict[str, str]) -> None:
        """Any quoted values, quotes and 'and' included, survive build and parse."""
        parsed = doc.parse_filter(doc.build_filter(conditions))

        assert {name: value for name, _, value in parsed} == conditions


class TestMessageResource:
    def test_bad_base64_content_becomes_empty_not_an_error(self) -> None:
        """One message with broken content does not fail the whole listing."""
        message = message_from_json(
            {
                "id": "m-1",
                "messageType": "sendshipment",
                "direction": "Outbound",
                "status": "New",
                "content": "%%% not base64 %%%",
                "createdAt": "2026-12-01T10:00:00Z",
                "@odata.etag": "W/1",
            }
        )

        assert message.content == b""


class TestStockLevelRows:
    def test_a_page_of_rows_becomes_stock_levels(self) -> None:
        """Each row gives its ExternalNo, quantities and date; a date without an
        offset is taken as UTC."""
        rows = [
            {
                "externalNo": "SKU-1",
                "qtyInInventory": 7,
                "qtyAvailable": 5,
                "modifiedAt": "2026-12-01T10:00:00Z",
            },
            {
                "externalNo": "SKU-2",
                "qtyInInventory": "3",
                "qtyAvailable": 0,
                "modifiedAt": "2026-12-01T11:00:00",
            },
        ]

        levels = doc.stock_levels_from_json(rows)

        assert levels == [
            doc.StockLevel("SKU-1", 7, 5, datetime(2026, 12, 1, 10, tzinfo=UTC)),
            doc.StockLevel("SKU-2", 3, 0, datetime(2026, 12, 1, 11, tzinfo=UTC)),
        ]

    @pytest.mark.parametrize(
        ("field", "value", "reason"),
        [
            ("externalNo", None, "without externalNo"),
            ("qtyAvailable", "many", "malformed quantity"),
            ("modifiedAt", "yesterday", "malformed quantity or date"),
        ],
    )
    def test_a_malformed_row_is_a_document_error(
        self, field: str, value: object, reason: str
    ) -> None:
        """A row missing a field, or with a quantity or date that is not one,
        fails the page with a DocumentError that says what was wrong."""
        row: dict[str, object] = {
            "externalNo": "SKU-1",
            "qtyInInventory": 1,
            "qtyAvailable": 1,
            "modifiedAt": "2026-12-01T10:00:00Z",
        }
        if value is None:
            del row[field]
        else:
            row[field] = value

        with pytest.raises(DocumentError, match=reason):
            doc.stock_levels_from_json([row])
