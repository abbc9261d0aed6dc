"""Stock between the API and the domain: pure conversions, no I/O.

The servicer calls these around `StockService`:

- `ActivateAccount`: `pushed = await stock.activate(request.account_id)`, then
  the response with the account view and `pushed_levels=pushed`.
- `SyncStock`: `levels = await stock.levels(request.account_id,
  **sync_selection(request))` (NotFound before the first level), then
  `async for view in levels: yield pb.SyncStockResponse(level=level_to_proto(view))`.
- `WatchEvents`: a STOCK_CHANGED event's payload is a `StockLevelView` as JSON;
  `level_from_payload(payload)` turns it into `pb.StockLevel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from buckles.boltrics.v1 import connector_pb2 as pb
from service.domain.products import Listing
from service.domain.stock import StockLevelView
from service.errors import FieldViolation, InvalidArgument


def level_to_proto(view: StockLevelView) -> pb.StockLevel:
    """The API form of a level; `as_of` is left unset when Boltrics has no figure."""
    message = pb.StockLevel(
        external_no=view.external_no,
        sellable=view.sellable,
        boltrics_available=view.boltrics_available,
        in_inventory=view.in_inventory,
        reserved=view.reserved,
        listings=[_listing(listing) for listing in view.listings],
    )
    if view.as_of is not None:
        message.as_of.FromDatetime(view.as_of.astimezone(UTC))
    return message


def level_from_payload(payload: Mapping[str, Any]) -> pb.StockLevel:
    """The API form of a STOCK_CHANGED event's payload."""
    return level_to_proto(StockLevelView.model_validate(payload))


def sync_selection(request: pb.SyncStockRequest) -> dict[str, Any]:
    """The keyword arguments of `StockService.levels` for a SyncStock request."""
    which = request.WhichOneof("selection")
    if which == "changed_since":
        return {"changed_since": _moment(request.changed_since)}
    if which == "external_nos":
        nos = [no.strip() for no in request.external_nos.external_nos]
        if not nos or not all(nos):
            raise InvalidArgument(
                [
                    FieldViolation(
                        "external_nos.external_nos",
                        "give at least one ExternalNo, none of them empty",
                    )
                ]
            )
        return {"external_nos": nos}
    return {}


def _moment(stamp: Any) -> datetime:
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment


def _listing(listing: Listing) -> pb.Listing:
    return pb.Listing(
        product_id=listing.product_id,
        source_platform=listing.source_platform,
        shop=listing.shop,
    )
