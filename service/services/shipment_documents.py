"""From a `sendshipment` document to the domain's shipment confirmation.

Kept apart from the rest of the shipments service, with few imports, because
the parsing worker (service/adapters/parsing.py) imports it: a worker that
loaded the store and the gRPC layer as well would hold their memory for
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.adapters.boltrics import (
    DocumentError,
    MessageType,
    parse_shipment_confirmation,
)
from service.adapters.boltrics import ShipmentConfirmation as SendShipment
from service.adapters.boltrics.documents import (
    ATTRIBUTE_TRACK_TRACE,
    ATTRIBUTE_TRACK_URL,
)
from service.domain.shipments import (
    ShipmentConfirmation,
    ShippedLine,
    validate_confirmation,
)

#: What this module's parsers need, for a parsing worker to import at its start.
PARSERS_MODULE = __name__

#: A usable confirmation, or why the document cannot be used.
Decoded = ShipmentConfirmation | str


@dataclass(frozen=True)
class TrackCodes:
    """The attribute codes that carry the track & trace number and link."""

    number: str = ATTRIBUTE_TRACK_TRACE
    url: str = ATTRIBUTE_TRACK_URL


def confirmation_from_document(
    document: SendShipment, codes: TrackCodes = TrackCodes()
) -> ShipmentConfirmation:
    """The domain's confirmation of a parsed `sendshipment` document."""
    # Identifiers as the field-by-field path takes them: indented XML must not
    # make another order or another shipment of the same.
    return ShipmentConfirmation(
        shipment_no=document.no.strip(),
        order_id=document.external_reference.strip(),
        order_number=document.external_document_no.strip(),
        posting_date=document.posting_date.isoformat(),
        shipping_agent_code=document.shipping_agent_code or "",
        shipping_agent_name=document.shipping_agent_name or "",
        tracking_number=document.tracking_number(codes.number),
        tracking_url=document.tracking_url(codes.url),
        lines=tuple(
            ShippedLine(external_no=line.external_no, quantity=str(line.qty_posted))
            for line in document.lines
        ),
    )


def decode_message(content: bytes, codes: TrackCodes) -> Decoded:
    """The confirmation in a `sendshipment` document, or why it cannot be used."""
    try:
        document = parse_shipment_confirmation(content)
        confirmation = confirmation_from_document(document, codes)
    except DocumentError as exc:
        return exc.message
    except Exception as exc:  # one odd document must not stop a page
        return f"the document cannot be read ({type(exc).__name__}: {exc})"
    problems = validate_confirmation(confirmation, prefix=MessageType.SEND_SHIPMENT)
    if problems:
        return "; ".join(f"{p.field}: {p.description}" for p in problems)
    return confirmation
