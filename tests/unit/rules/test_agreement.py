"""The durable_rules engine and the plain evaluator agree on generated orders."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from service.adapters.rules.durable import DurableShippingRules
from service.adapters.rules.tree import DEFAULT, load_tree
from service.domain.rules import OrderFacts, first_match

RULES = Path(__file__).resolve().parents[3] / "rules"
BATCH = 1_000
EXAMPLES = 100

TEXTS = [
    "",
    "Standaard",
    "standard",
    "EXPRESS",
    "spoed",
    "Afhalen bij PostNL-punt",
    "pick up",
    "PostNL pakket",
    "gratis verzending",
    "Koerier",
    'x"\\y',
    "Ærø ß",
]
POSTCODES = ["8881AB", "8899 ZZ", "9161", "9166", "9163xx", "10115", "", "B-1000"]


def random_facts(rng: random.Random) -> OrderFacts:
    """One order's facts, drawn around the example rules' boundaries."""
    postcode = rng.choice([f"{rng.randint(1000, 9999)} AB", rng.choice(POSTCODES)])
    return OrderFacts(
        country=rng.choice(["NL", "nl", "BE", "DE", "FR", ""]),
        postcode=postcode,
        city=rng.choice(["Ameland", "schiermonnikoog", "Utrecht", "Berlin", ""]),
        total_weight_kg=Decimal(rng.randint(0, 40_000)) / 1000,
        total_value=Decimal(rng.randint(0, 100_000)) / 100,
        currency=rng.choice(["EUR", "USD"]),
        item_count=rng.randint(0, 6),
        line_count=rng.randint(0, 4),
        skus=tuple(rng.sample(["POSTER-A2", "poster-a1", "MUG-1"], rng.randint(0, 3))),
        tags=tuple(rng.sample(["vip", "VIP", "repeat"], rng.randint(0, 2))),
        channel=rng.choice(["shopify", "bol", "BOL", "woocommerce"]),
        shop=rng.choice(["demo-store", ""]),
        shipping_preference=rng.choice(TEXTS),
        is_business=rng.random() < 0.3,
    )


class TestAgreement:
    """Both evaluators give the same first matching rule."""

    engine = None

    @classmethod
    def setup_class(cls) -> None:
        cls.tree = load_tree(RULES)
        names = [DEFAULT, *cls.tree.accounts]
        cls.engine = DurableShippingRules({n: cls.tree.ruleset(n) for n in names})

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(st.integers(min_value=0, max_value=2**63))
    def test_same_decision_on_100_000_generated_orders(self, seed: int) -> None:
        """100 batches of 1,000 generated orders: both evaluators pick the same rule."""
        rng = random.Random(seed)
        batch = [random_facts(rng) for _ in range(BATCH)]
        for account in (DEFAULT, "demo"):
            ruleset = self.tree.ruleset(account)
            engine_says = [self.engine.decide(account, f).rule_id for f in batch]
            plain_says = [
                None
                if (i := first_match(ruleset.rules, f)) is None
                else ruleset.rules[i].id
                for f in batch
            ]

            assert engine_says == plain_says

    def test_weight_at_the_boundary(self) -> None:
        """Exactly 20 kg is not above 20 kg in either evaluator."""
        facts = OrderFacts(country="FR", total_weight_kg=Decimal("20.000"))

        decision = self.engine.decide(DEFAULT, facts)

        assert decision.rule_id is None
