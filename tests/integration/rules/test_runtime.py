"""The live rules: loading, reloading, watching, candidates and status mappings."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from service.adapters.rules.runtime import RuleFileError, RulesLoadError, RulesRuntime
from service.config import RulesSettings
from service.domain.rules import OrderFacts

EXAMPLES = Path(__file__).resolve().parents[3] / "rules"
HEAVY = OrderFacts(country="FR", total_weight_kg=Decimal("22"))
LIGHT = OrderFacts(
    country="FR", total_weight_kg=Decimal("2.3"), shipping_preference="X"
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the example rules that a test may change."""
    root = tmp_path / "rules"
    shutil.copytree(EXAMPLES, root)
    return root


def runtime_for(root: Path) -> RulesRuntime:
    """A runtime over `root`, without a watcher."""
    return RulesRuntime.load(RulesSettings(path=root, watch=False))


def set_threshold(root: Path, kilograms: str) -> None:
    """Change the heavy parcel threshold of the default rules."""
    path = root / "default" / "shipping.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("weight: {above: ")
    end = text.index("}", start)
    path.write_text(
        text[:start] + f"weight: {{above: {kilograms}" + text[end:], "utf-8"
    )


class TestLoad:
    """Loading the tree at start."""

    def test_examples_load(self, tree: Path) -> None:
        """The example rules load, pass their tests and have a version per account."""
        runtime = runtime_for(tree)

        assert runtime.loaded
        assert runtime.version("demo") != runtime.version("default")

    def test_invalid_tree_raises_with_every_problem(self, tree: Path) -> None:
        """An invalid initial tree raises a configuration error listing the problems."""
        (tree / "default" / "shipping.yaml").write_text("rules: []\n", "utf-8")

        with pytest.raises(RulesLoadError) as caught:
            runtime_for(tree)

        assert [str(p) for p in caught.value.problems] == [
            f"{tree}/default/shipping.yaml:1:8: the rule list is empty; "
            "write at least one rule under 'rules'"
        ]


class TestDecide:
    """Decisions and their explanations."""

    def test_explanation_names_rules_above_with_actual_values(self, tree: Path) -> None:
        """Each rule above the deciding one says which condition failed and why."""
        runtime = runtime_for(tree)

        decision = runtime.decide("default", LIGHT)

        assert decision.source == "checkout"
        assert decision.method == "X"
        misses = [m.text for m in decision.explanation.misses]
        assert "heavy-to-dhl did not match: weight 2.3 kg is not above 20 kg" in misses
        assert misses[0] == "wadden-islands did not match: country FR is not NL"

    def test_decision_names_rule_file_and_line(self, tree: Path) -> None:
        """A rule's decision carries its id, file, line and the set's version."""
        runtime = runtime_for(tree)

        decision = runtime.decide("unknown-account", HEAVY)

        assert (decision.method, decision.rule_id) == ("DHL_FREIGHT", "heavy-to-dhl")
        assert decision.rule_file == f"{tree}/default/shipping.yaml"
        assert decision.rule_line == 25
        assert decision.ruleset_version == runtime.version("default")


class TestReload:
    """Reloading swaps valid sets in and keeps invalid ones out."""

    def test_valid_change_goes_live(self, tree: Path) -> None:
        """After a valid change, reload returns True and the new rules decide."""
        runtime = runtime_for(tree)
        set_threshold(tree, "23")

        assert runtime.reload()
        assert runtime.decide("default", HEAVY).rule_id is None

    def test_invalid_change_never_goes_live(self, tree: Path) -> None:
        """An invalid file is rejected and the old set keeps deciding."""
        runtime = runtime_for(tree)
        before = runtime.version("default")
        set_threshold(tree, "abc")

        assert not runtime.reload()
        assert runtime.version("default") == before
        assert runtime.decide("default", HEAVY).rule_id == "heavy-to-dhl"

    def test_change_that_fails_the_authors_tests_is_rejected(self, tree: Path) -> None:
        """A valid file whose authors' tests fail does not go live."""
        runtime = runtime_for(tree)
        set_threshold(tree, "26")

        assert not runtime.reload()
        assert runtime.decide("default", HEAVY).rule_id == "heavy-to-dhl"

    def test_evaluations_through_reloads_each_use_one_version(self, tree: Path) -> None:
        """1,000 evaluations during 50 reloads each decide by exactly one version."""
        runtime = runtime_for(tree)
        first = runtime.version("default")
        set_threshold(tree, "24")
        runtime.reload()
        second = runtime.version("default")
        expected = {first: "heavy-to-dhl", second: None}
        results: list[tuple[str, str | None]] = []

        def evaluate() -> None:
            for _ in range(1_000):
                decision = runtime.decide("default", HEAVY)
                results.append((decision.ruleset_version, decision.rule_id))
                time.sleep(0.002)  # spread the evaluations over the reloads

        worker = threading.Thread(target=evaluate)
        worker.start()
        for index in range(50):
            set_threshold(tree, "24" if index % 2 else "20")
            assert runtime.reload()
        worker.join()

        assert len(results) == 1_000
        assert {version for version, _ in results} == {first, second}
        assert all(expected[version] == rule for version, rule in results)


class TestWatch:
    """The file watcher reloads on its own."""

    async def test_saved_change_is_live_within_two_seconds(self, tree: Path) -> None:
        """A valid change is live within 2 seconds of being saved."""
        runtime = runtime_for(tree)
        stop = asyncio.Event()
        watcher = asyncio.create_task(runtime.watch(stop))
        await asyncio.sleep(0.3)

        set_threshold(tree, "23")
        saved = time.monotonic()
        while runtime.decide("default", HEAVY).rule_id is not None:
            assert time.monotonic() - saved < 2.0
            await asyncio.sleep(0.05)
        stop.set()
        await watcher


class TestCandidate:
    """Dry runs of candidate rule texts."""

    def test_candidate_decides_without_touching_the_live_set(self, tree: Path) -> None:
        """A candidate text decides, and the live set is unchanged."""
        runtime = runtime_for(tree)
        before = runtime.version("demo")
        text = "rules:\n  - id: all-ups\n    description: d\n    then: {method: UPS}\n"

        decision = runtime.evaluate_candidate("demo", text, HEAVY)

        assert (decision.method, decision.rule_id) == ("UPS", "all-ups")
        assert runtime.version("demo") == before

    def test_invalid_candidate_raises_with_problems(self, tree: Path) -> None:
        """An invalid candidate raises RuleFileError with file, line and column."""
        runtime = runtime_for(tree)

        with pytest.raises(RuleFileError) as caught:
            runtime.evaluate_candidate("demo", "rules: []\n", HEAVY)

        assert [str(p) for p in caught.value.problems] == [
            "candidate:demo:1:8: the rule list is empty; "
            "write at least one rule under 'rules'"
        ]


class TestStatusMappings:
    """Per-channel status mappings, account over default."""

    def test_account_mapping_wins_over_default(self, tree: Path) -> None:
        """The demo account maps Shopify's 'authorized' to processing."""
        runtime = runtime_for(tree)

        assert runtime.translate("demo", "Shopify", "Authorized") == "processing"
        assert runtime.translate("other", "shopify", "authorized") == "on_hold"

    def test_unknown_status_is_none(self, tree: Path) -> None:
        """A status the mapping does not know translates to None."""
        runtime = runtime_for(tree)

        assert runtime.translate("demo", "shopify", "teleported") is None
