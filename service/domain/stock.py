"""Stock: what the sales channels may sell, counting every unit exactly once.

The sellable level of a product is Boltrics' `qtyAvailable` minus the quantity
of this account's orders that the connector accepted and that Boltrics has not
processed yet. Boltrics subtracts an order from `qtyAvailable` the moment it
processes it; until then the connector holds the order's quantity itself.

Crossing in time
----------------
A figure (from a `stockstatus` message or from `stockLevels`) is a snapshot
dated `as_of`: it includes exactly the orders Boltrics processed at or before
that moment. Boltrics' processing moment `p` of an order is not reported; the
connector only learns of it later, at `processed_at` (when it saw the verdict),
so `p <= processed_at` always holds. An order's hold therefore counts against
a figure unless `processed_at < figure.as_of`:

- not processed yet (`processed_at` is None): the figure cannot include it,
  so it counts. Correct.
- `processed_at < as_of`: then `p < as_of`, the figure includes the order, so
  the hold must not count. Correct.
- `processed_at >= as_of`: the figure may or may not include it. The hold
  counts: at worst a unit is counted twice for a while, never in neither.
  The first figure dated after `processed_at` settles it.

So a level may briefly be too low, never too high. Once a hold stops counting
it never counts again, because an applied figure is never replaced by an older
one (`as_of` only grows); the store may then delete the hold.

Boltrics dates `stockstatus` figures to the second (truncated), which only
makes them look older, the safe side; the full sync dates each page's figures
the same way, with the moment just before it asked for the page, so that the
two compare fairly. The rule trusts the two clocks to agree
(NTP); a Boltrics clock ahead of ours by more than the verdict delay could
release a hold early.

A failed or skipped order never reached Boltrics' figure: its hold goes at
once. A dead order may have (its last post unanswered, or its message gone
from Boltrics), and Boltrics may process it later, so its hold counts until
an operator's retry queues it again (at worst too low, never too high); a
paid order that is still to be fulfilled wants its units anyway. A shipped
order is processed (Boltrics ships only what it processed);
shipping moves units out of both `qtyInInventory` and the processed-unshipped
quantity, so `qtyAvailable` does not change with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from service.domain.orders import OrderRecord, OrderState
from service.domain.products import Listing


@dataclass(frozen=True)
class Figure:
    """Boltrics' figures for one item, dated by Boltrics."""

    qty_available: int
    qty_in_inventory: int
    as_of: datetime


@dataclass(frozen=True)
class Hold:
    """The quantity of one item that one accepted order holds.

    `processed_at` is when the connector learnt that Boltrics processed the
    order (None while it has not).
    """

    order_id: str
    external_no: str
    quantity: int
    processed_at: datetime | None = None


class HoldStage(StrEnum):
    """What an order's state means for its holds."""

    OPEN = "open"
    PROCESSED = "processed"
    GONE = "gone"


_STAGES = {
    OrderState.QUEUED: HoldStage.OPEN,
    OrderState.SENT: HoldStage.OPEN,
    OrderState.PROCESSED: HoldStage.PROCESSED,
    OrderState.SHIPPED: HoldStage.PROCESSED,
    OrderState.FAILED: HoldStage.GONE,
    OrderState.DEAD: HoldStage.OPEN,
    OrderState.SKIPPED: HoldStage.GONE,
}


def hold_stage(state: OrderState) -> HoldStage:
    """Whether an order in `state` holds stock, has been processed, or holds none."""
    return _STAGES[state]


def order_quantities(record: OrderRecord) -> dict[str, int]:
    """The quantity per ExternalNo of an order's lines."""
    quantities: dict[str, int] = defaultdict(int)
    for line in record.order.lines:
        if line.quantity > 0:
            quantities[line.external_no] += line.quantity
    return dict(quantities)


def counts(hold: Hold, figure_as_of: datetime | None) -> bool:
    """Whether a hold is still to be subtracted from a figure of `figure_as_of`."""
    if hold.processed_at is None or figure_as_of is None:
        return True
    return hold.processed_at >= figure_as_of


def reserved(holds: Iterable[Hold], figure_as_of: datetime | None) -> int:
    """The quantity of `holds` that the figure does not include yet."""
    return sum(hold.quantity for hold in holds if counts(hold, figure_as_of))


def supersedes(candidate: datetime, current: datetime | None) -> bool:
    """Whether a figure dated `candidate` may replace one dated `current`.

    Equal dates replace: Boltrics dates to the second, and of two messages of
    the same second the one listed later is the newer.
    """
    return current is None or candidate >= current


def sellable(qty_available: int, reserved_quantity: int) -> int:
    """What the channels may sell: never below zero."""
    return max(0, qty_available - reserved_quantity)


class StockLevelView(BaseModel):
    """The connector's level of one product, as callers and events see it.

    `boltrics_available - reserved` is the truth and may be negative (more
    orders than stock); `sellable` is that clamped at zero.
    """

    model_config = ConfigDict(frozen=True)

    external_no: str
    sellable: int
    boltrics_available: int
    in_inventory: int
    reserved: int
    as_of: datetime | None = None
    listings: tuple[Listing, ...] = ()

    @property
    def shortfall(self) -> int:
        """How many units more are held than Boltrics has available."""
        return max(0, self.reserved - self.boltrics_available)


def level_view(
    external_no: str,
    figure: Figure | None,
    reserved_quantity: int,
    listings: Sequence[Listing] = (),
) -> StockLevelView:
    """The view of one product's level; without a figure Boltrics has none."""
    available = figure.qty_available if figure else 0
    return StockLevelView(
        external_no=external_no,
        sellable=sellable(available, reserved_quantity),
        boltrics_available=available,
        in_inventory=figure.qty_in_inventory if figure else 0,
        reserved=reserved_quantity,
        as_of=figure.as_of if figure else None,
        listings=tuple(listings),
    )


def level_payload(
    external_no: str,
    figure: Figure | None,
    reserved_quantity: int,
    listings: Sequence[Listing] = (),
) -> dict[str, Any]:
    """`level_view(...).model_dump(mode="json")`, as a STOCK_CHANGED event
    carries it, without the model: a daily sync or an activation emits tens
    of thousands, and building and dumping each view cost as much as the rest
    of their write."""
    available = figure.qty_available if figure else 0
    return {
        "external_no": external_no,
        "sellable": sellable(available, reserved_quantity),
        "boltrics_available": available,
        "in_inventory": figure.qty_in_inventory if figure else 0,
        "reserved": reserved_quantity,
        "as_of": _json_moment(figure.as_of) if figure else None,
        "listings": [
            {
                "product_id": listing.product_id,
                "source_platform": listing.source_platform,
                "shop": listing.shop,
            }
            for listing in listings
        ],
    }


def _json_moment(moment: datetime) -> str:
    """A moment as pydantic writes it in JSON: ISO 8601, UTC as `Z`."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
