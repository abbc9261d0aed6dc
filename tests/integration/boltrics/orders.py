"""Documents for the integration tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from service.adapters.boltrics import (
    Address,
    Header,
    ShipmentOrder,
    ShipmentOrderLine,
    build_shipment_order,
)

HOME = Address(
    name="Zoë Straße",
    address="Kerkstraat 1",
    postcode="1017 GA",
    city="Amsterdam",
    country_code="NL",
)


def order_xml(
    reference: str, *items: str, address: Address = HOME, agent: str | None = "POSTNL"
) -> bytes:
    """The receiveshipment XML of an order for one of each item."""
    order = ShipmentOrder(
        header=Header.new("BUCKLES", "WH01"),
        document_date=date(2025, 1, 31),
        external_document_no=f"#{reference}",
        external_reference=reference,
        ship_to=address,
        lines=tuple(ShipmentOrderLine(no, Decimal(1), f"Item {no}") for no in items),
        shipping_agent=agent,
    )
    return build_shipment_order(order)
