"""An order as the warehouse receives it: the `receiveshipment` document."""

from __future__ import annotations

from decimal import Decimal

from service.adapters.boltrics import Address, Header, ShipmentOrder, ShipmentOrderLine
from service.adapters.boltrics.documents import build_shipment_order
from service.config import BoltricsConnection
from service.domain.orders import OrderRecord


def shipment_order_xml(record: OrderRecord, connection: BoltricsConnection) -> bytes:
    """The `receiveshipment` XML of an order: its lines, address and shipping method.

    Only what the warehouse needs leaves the connector: no prices, no customer
    record. Lines go out under their product's ExternalNo.
    """
    order = record.order
    address = order.delivery_address
    streets = [*address.street_lines, "", ""]
    placed = order.placed_at or record.created_at
    document = ShipmentOrder(
        header=Header.new(connection.our_partner, connection.warehouse_partner),
        document_date=placed.date(),
        external_document_no=order.order_number or order.order_id,
        external_reference=order.order_id,
        ship_to=Address(
            name=address.name or None,
            name2=address.company or None,
            address=streets[0] or None,
            address2=streets[1] or None,
            postcode=address.postcode or None,
            city=address.city or None,
            country_code=address.country or None,
            email=address.email or None,
            phone=address.phone or None,
        ),
        lines=tuple(
            ShipmentOrderLine(
                external_no=line.external_no,
                quantity=Decimal(line.quantity),
                description=line.name,
            )
            for line in order.lines
        ),
        shipping_agent=(record.decision.method if record.decision else "") or None,
        channel=order.source_platform or None,
    )
    return build_shipment_order(document)
