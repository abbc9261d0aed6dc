"""`sendshipment` documents for the shipment tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from service.adapters.boltrics import (
    Header,
    ShipmentConfirmation,
    ShippedLine,
    build_shipment_confirmation,
)


def sendshipment_xml(
    order_id: str = "o-1",
    *,
    shipment_no: str = "UIT-000001",
    agent: str | None = "DHL",
    attributes: dict[str, str] | None = None,
) -> bytes:
    """A `sendshipment` document for one line of SKU-1."""
    document = ShipmentConfirmation(
        header=Header.new("WH01", "BUCKLES"),
        no=shipment_no,
        external_document_no=f"#{order_id}",
        external_reference=order_id,
        posting_date=date(2026, 12, 2),
        lines=(ShippedLine("SKU-1", Decimal(2)),),
        shipping_agent_code=agent,
        shipping_agent_name=agent,
        attributes=attributes or {},
    )
    return build_shipment_confirmation(document)


HOSTILE = b"""<?xml version="1.0"?>
<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<Message xmlns="www.boltrics.nl/sendshipment:v1.00">&lol2;</Message>"""

MALFORMED = b"<Message xmlns='www.boltrics.nl/sendshipment:v1.00'><Documents>"
