"""Shipping rules throughput: this engine vs zen-engine vs a plain-Python chain.

The same generated rules (50, 500, 3,000) decide the same generated orders in
three ways, in one run:

- this engine: `DurableShippingRules.decide` (durable_rules decides; the
  explanation is lazy and not asked for);
- zen-engine (GoRules): the rules as one first-hit decision table, through
  `ZenEngine.evaluate` with a loader;
- a plain-Python chain: the first tuple of bounds that holds.

Each rule reads "country is C, postcode between A and B, weight above W". Every
engine's answers are compared before timing. Run: `python bench/rules.py`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import zen

from service.adapters.rules.durable import DurableShippingRules
from service.domain.rules import (
    AllOf,
    Op,
    OrderFacts,
    Outcome,
    Rule,
    RuleSet,
    Test,
)

COUNTRIES = ("NL", "BE", "DE", "FR", "LU", "AT")


@dataclass(frozen=True)
class Spec:
    """One generated rule, in a form each engine is built from."""

    country: str
    low: int
    high: int
    weight: int
    method: str


def generate_specs(count: int, rng: random.Random) -> list[Spec]:
    """`count` rules with narrow postcode ranges, so an order matches few of them."""
    specs = []
    for index in range(count):
        low = rng.randint(1000, 9900)
        specs.append(
            Spec(
                rng.choice(COUNTRIES),
                low,
                low + rng.randint(0, 60),
                rng.randint(0, 30),
                f"M{index}",
            )
        )
    return specs


def generate_orders(count: int, rng: random.Random) -> list[OrderFacts]:
    """Orders spread over the same countries, postcodes and weights."""
    return [
        OrderFacts(
            country=rng.choice(COUNTRIES),
            postcode=f"{rng.randint(1000, 9999)} AB",
            total_weight_kg=Decimal(rng.randint(0, 35_000)) / 1000,
            shipping_preference="checkout",
        )
        for _ in range(count)
    ]


def ruleset(specs: Sequence[Spec]) -> RuleSet:
    """The rules in our model."""
    rules = tuple(
        Rule(
            f"r{index}",
            "generated",
            AllOf(
                (
                    Test("country", Op.EQUALS, spec.country),
                    Test(
                        "postcode", Op.BETWEEN, (Decimal(spec.low), Decimal(spec.high))
                    ),
                    Test("weight", Op.ABOVE, Decimal(spec.weight)),
                )
            ),
            Outcome(spec.method),
        )
        for index, spec in enumerate(specs)
    )
    return RuleSet("bench", rules, f"bench-{len(rules)}")


def zen_table(specs: Sequence[Spec]) -> dict[str, Any]:
    """The rules as a zen-engine first-hit decision table (JDM)."""
    inputs = [
        {"id": "c", "name": "country", "field": "country"},
        {"id": "p", "name": "postcode", "field": "postcode_number"},
        {"id": "w", "name": "weight", "field": "weight"},
    ]
    rules = [
        {
            "_id": f"r{index}",
            "c": json.dumps(spec.country),
            "p": f"[{spec.low}..{spec.high}]",
            "w": f"> {spec.weight}",
            "m": json.dumps(spec.method),
        }
        for index, spec in enumerate(specs)
    ]
    table = {
        "id": "table",
        "type": "decisionTableNode",
        "name": "shipping",
        "content": {
            "hitPolicy": "first",
            "inputs": inputs,
            "outputs": [{"id": "m", "name": "method", "field": "method"}],
            "rules": rules,
        },
    }
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "input"},
            table,
            {"id": "out", "type": "outputNode", "name": "output"},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
            {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"},
        ],
    }


def zen_decider(specs: Sequence[Spec]) -> Callable[[OrderFacts], str]:
    """Decide through `ZenEngine.evaluate`, the table served by a loader."""
    # Parsed once: the loader hands zen the same compiled content every time.
    content = zen.ZenDecisionContent(json.dumps(zen_table(specs)))
    engine = zen.ZenEngine({"loader": lambda _key: content})

    def decide(facts: OrderFacts) -> str:
        context = {
            "country": facts.country,
            "postcode_number": facts.postcode_number or -1,
            "weight": float(facts.total_weight_kg),
        }
        result = engine.evaluate("shipping", context)["result"]
        return str(result.get("method") or facts.shipping_preference)

    return decide


def durable_decider(specs: Sequence[Spec]) -> Callable[[OrderFacts], str]:
    """Decide through this service's durable_rules adapter."""
    engine = DurableShippingRules({"bench": ruleset(specs)}, fallback="bench")
    return lambda facts: engine.decide("bench", facts).method


def plain_decider(specs: Sequence[Spec]) -> Callable[[OrderFacts], str]:
    """Decide with a hand-written first-match loop over tuples."""
    table = [(s.country, s.low, s.high, Decimal(s.weight), s.method) for s in specs]

    def decide(facts: OrderFacts) -> str:
        number = facts.postcode_number
        for country, low, high, weight, method in table:
            if (
                facts.country == country
                and number is not None
                and low <= number <= high
                and facts.total_weight_kg > weight
            ):
                return method
        return facts.shipping_preference

    return decide


def throughput(
    decide: Callable[[OrderFacts], str], orders: Sequence[OrderFacts]
) -> float:
    """Decisions per second over all orders."""
    started = time.perf_counter()
    for facts in orders:
        decide(facts)
    return len(orders) / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every size; print throughputs and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 3_000])
    args = parser.parse_args(argv)
    rng = random.Random(4)
    orders = generate_orders(args.orders, rng)

    print(
        f"{'rules':>6} {'engine/s':>10} {'zen/s':>10} {'plain/s':>10} "
        f"{'engine:zen':>10} {'engine:plain':>12} {'matched':>8}"
    )
    for size in args.sizes:
        specs = generate_specs(size, rng)
        deciders = [durable_decider(specs), zen_decider(specs), plain_decider(specs)]
        answers = [[decide(o) for o in orders] for decide in deciders]
        if not answers[0] == answers[1] == answers[2]:
            print(f"{size}: the engines disagree", file=sys.stderr)
            return 1
        ours, zens, plain = (throughput(d, orders) for d in deciders)
        matched = sum(a != "checkout" for a in answers[0]) / len(orders)
        print(
            f"{size:>6} {ours:>10.0f} {zens:>10.0f} {plain:>10.0f} "
            f"{ours / zens:>10.2f} {ours / plain:>12.2f} {matched:>8.0%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
