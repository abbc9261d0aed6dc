"""10,000 interleaved stock events against a model of the warehouse."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.stock import Figure, Hold, reserved, sellable, supersedes

ITEMS = ("A", "B", "C")
STEPS = 10_000
T0 = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass
class WarehouseOrder:
    """An order as the model knows it, on both sides."""

    lines: dict[str, int]
    state: str = "accepted"  # accepted, processed, shipped, failed
    seen_processed: bool = False


@dataclass
class World:
    """The warehouse's truth, and the connector's view built by the domain rule."""

    on_hand: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ITEMS, 10))
    orders: dict[int, WarehouseOrder] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    holds: dict[tuple[int, str], Hold] = field(default_factory=dict)
    in_flight: list[dict[str, Figure]] = field(default_factory=list)
    tick: int = 0

    def now(self) -> datetime:
        """A strictly later moment on every call."""
        self.tick += 1
        return T0 + timedelta(milliseconds=self.tick)

    def in_state(self, state: str) -> list[int]:
        """The ids of orders in a state."""
        return [oid for oid, order in self.orders.items() if order.state == state]

    def total(self, state: str, item: str) -> int:
        """The quantity of an item over the orders in a state."""
        return sum(
            order.lines.get(item, 0)
            for order in self.orders.values()
            if order.state == state
        )

    def available(self, item: str) -> int:
        """Boltrics' qtyAvailable: on hand minus processed, unshipped orders."""
        return max(0, self.on_hand[item] - self.total("processed", item))

    def shippable(self, item: str) -> int:
        """What the warehouse can still ship to new orders."""
        return max(0, self.available(item) - self.total("accepted", item))

    def settle(self) -> None:
        """Forget orders that no longer matter to either side."""
        for order_id in [
            oid
            for oid, order in self.orders.items()
            if order.state == "failed"
            or (order.state == "shipped" and order.seen_processed)
        ]:
            if not any(key[0] == order_id for key in self.holds):
                del self.orders[order_id]

    def snapshot(self) -> dict[str, Figure]:
        """Every item's figure, dated now."""
        moment = self.now()
        return {
            item: Figure(self.available(item), self.on_hand[item], moment)
            for item in ITEMS
        }

    def apply(self, figures: dict[str, Figure]) -> None:
        """The connector applies figures, never over newer ones."""
        for item, figure in figures.items():
            current = self.figures.get(item)
            if supersedes(figure.as_of, current.as_of if current else None):
                self.figures[item] = figure
        # As the store does: a hold the newest figure includes never counts again.
        for key, hold in list(self.holds.items()):
            figure = self.figures.get(hold.external_no)
            if figure and hold.processed_at and hold.processed_at < figure.as_of:
                del self.holds[key]

    def sellable(self, item: str) -> int:
        """The connector's level of an item."""
        figure = self.figures.get(item)
        as_of = figure.as_of if figure else None
        holds = [hold for (_, no), hold in self.holds.items() if no == item]
        return sellable(figure.qty_available if figure else 0, reserved(holds, as_of))


def new_order(world: World, rng: random.Random) -> None:
    """A channel sells: the connector accepts the order and holds its lines."""
    lines = {item: rng.randint(1, 3) for item in rng.sample(ITEMS, rng.randint(1, 2))}
    world.now()
    order_id = world.tick  # unique: the tick moved on just now
    world.orders[order_id] = WarehouseOrder(lines)
    for item, quantity in lines.items():
        world.holds[order_id, item] = Hold(str(order_id), item, quantity)


def process(world: World, rng: random.Random) -> None:
    """Boltrics processes an accepted order; the connector does not know yet."""
    waiting = world.in_state("accepted")
    if waiting:
        world.now()
        world.orders[rng.choice(waiting)].state = "processed"


def see_processed(world: World, rng: random.Random) -> None:
    """The connector learns of a verdict, later than Boltrics processed it."""
    unseen = [
        oid
        for oid, o in world.orders.items()
        if o.state in ("processed", "shipped") and not o.seen_processed
    ]
    if unseen:
        _mark_seen(world, rng.choice(unseen))


def ship(world: World, rng: random.Random) -> None:
    """Boltrics ships a processed order: on hand and its hold fall together."""
    processed = world.in_state("processed")
    if not processed:
        return
    order_id = rng.choice(processed)
    order = world.orders[order_id]
    order.state = "shipped"
    for item, quantity in order.lines.items():
        world.on_hand[item] -= quantity
    if rng.random() < 0.5:
        _mark_seen(world, order_id)


def fail(world: World, rng: random.Random) -> None:
    """Boltrics fails an accepted order: the connector releases it."""
    waiting = world.in_state("accepted")
    if waiting:
        order_id = rng.choice(waiting)
        world.orders[order_id].state = "failed"
        for item in world.orders[order_id].lines:
            del world.holds[order_id, item]


def count(world: World, rng: random.Random) -> None:
    """A stock count sets on hand; its stockstatus arrives at once."""
    item = rng.choice(ITEMS)
    world.on_hand[item] = rng.randint(0, 20) + world.total("processed", item)
    world.apply({item: world.snapshot()[item]})


def give_back(world: World, rng: random.Random) -> None:
    """A return adds stock; its stockstatus arrives at once."""
    item = rng.choice(ITEMS)
    world.on_hand[item] += rng.randint(1, 3)
    world.apply({item: world.snapshot()[item]})


def read_all(world: World, rng: random.Random) -> None:
    """A passive sync or scheduled stockstatus reads now and arrives later."""
    world.in_flight.append(world.snapshot())


def deliver(world: World, rng: random.Random) -> None:
    """A figure read earlier arrives, in any order."""
    if world.in_flight:
        world.apply(world.in_flight.pop(rng.randrange(len(world.in_flight))))


STEP_KINDS = (
    new_order,
    process,
    see_processed,
    ship,
    fail,
    count,
    give_back,
    read_all,
    deliver,
)
WEIGHTS = (6, 5, 4, 3, 1, 2, 2, 2, 3)


def _mark_seen(world: World, order_id: int) -> None:
    moment = world.now()
    world.orders[order_id].seen_processed = True
    for item in world.orders[order_id].lines:
        key = (order_id, item)
        if key in world.holds and world.holds[key].processed_at is None:
            hold = world.holds[key]
            world.holds[key] = Hold(hold.order_id, item, hold.quantity, moment)


class TestSimulation:
    """The connector's levels against the warehouse's truth."""

    @settings(
        max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(seed=st.integers(min_value=0, max_value=2**32))
    def test_never_above_what_can_ship_and_true_at_the_end(self, seed: int) -> None:
        """No level ever exceeds what the warehouse can ship; after every verdict
        is seen and a passive sync applied, every level equals the truth."""
        rng = random.Random(seed)
        world = World()
        world.apply(world.snapshot())

        for _ in range(STEPS):
            rng.choices(STEP_KINDS, WEIGHTS)[0](world, rng)
            world.settle()
            for item in ITEMS:
                assert world.sellable(item) <= world.shippable(item)

        for order_id, order in world.orders.items():
            if order.state in ("processed", "shipped") and not order.seen_processed:
                _mark_seen(world, order_id)
        while world.in_flight:
            deliver(world, rng)
        world.apply(world.snapshot())
        assert {i: world.sellable(i) for i in ITEMS} == {
            i: world.shippable(i) for i in ITEMS
        }
