"""The live rules of all accounts: load, check, reload atomically, watch for changes."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from watchfiles import awatch

from service.adapters.rules.durable import DurableShippingRules
from service.adapters.rules.tree import (
    DEFAULT,
    Case,
    RulesTree,
    load_tree,
    read_rule_text,
)
from service.config import RulesSettings
from service.domain.rules.decision import ShippingDecision, ShippingRules
from service.domain.rules.facts import OrderFacts
from service.domain.rules.model import Rule, RuleSet
from service.errors import ConfigurationError, FieldViolation, InvalidArgument, Problem
from service.logging import get_logger

log = get_logger(__name__)


class RuleFileError(InvalidArgument):
    """A rule text is invalid; `problems` say where and why."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(
            [
                FieldViolation(f"{p.file}:{p.line}:{p.column}", p.message)
                for p in problems
            ]
        )


class RulesLoadError(ConfigurationError):
    """The rules tree cannot be used at start; `problems` say where and why."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("invalid rules: " + "; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one author's test."""

    case: Case
    account: str
    decision: ShippingDecision
    passed: bool

    @property
    def problem(self) -> Problem:
        """The failure as a problem at the case's line."""
        expect = self.case.expect
        wanted = "checkout" if expect.from_checkout else (expect.rule_id or "any rule")
        message = (
            f"case {self.case.name!r} failed: expected {expect.method!r} by {wanted}, "
            f"got {self.decision.method!r} by {self.decision.rule_id or 'checkout'}"
        )
        return Problem(self.case.file, self.case.line, 1, message)


def run_cases(tree: RulesTree, engine: ShippingRules) -> list[CaseResult]:
    """Run every author's test of the tree on an engine built from it."""
    results = []
    for account, layer in tree.layers.items():
        for case in layer.cases:
            decision = engine.decide(account, case.facts)
            results.append(CaseResult(case, account, decision, _passes(case, decision)))
    return results


def _passes(case: Case, decision: ShippingDecision) -> bool:
    expect = case.expect
    if decision.method != expect.method:
        return False
    if expect.from_checkout:
        return decision.source == "checkout"
    return expect.rule_id is None or decision.rule_id == expect.rule_id


@dataclass(frozen=True)
class Generation:
    """One loaded, checked and compiled state of the rules tree; never changes."""

    tree: RulesTree
    engine: DurableShippingRules

    def ruleset(self, account_id: str) -> RuleSet:
        """The rule set that decides for the account."""
        return self.tree.ruleset(account_id)


def build_generation(
    path: Path, known_methods: Sequence[str]
) -> tuple[Generation | None, list[Problem]]:
    """Load, validate, compile and test the tree; the problems when any step fails."""
    tree = load_tree(path, known_methods)
    if tree.problems:
        return None, list(tree.problems)
    names = [DEFAULT, *tree.accounts]
    engine = DurableShippingRules({name: tree.ruleset(name) for name in names})
    failures = [r.problem for r in run_cases(tree, engine) if not r.passed]
    if failures:
        return None, failures
    return Generation(tree, engine), []


class RulesRuntime:
    """The live rule sets and status mappings of all accounts.

    `decide` and `translate` read the current generation once per call, so an
    evaluation finishes on the set it started with while a reload swaps in the
    next one.
    """

    def __init__(self, settings: RulesSettings, generation: Generation):
        self._settings = settings
        self._current = generation
        self._reload_lock = threading.Lock()

    @classmethod
    def load(cls, settings: RulesSettings) -> RulesRuntime:
        """Load the rules; RulesLoadError with every problem when they are invalid."""
        generation, problems = build_generation(settings.path, settings.known_methods)
        if generation is None:
            raise RulesLoadError(problems)
        log.info("rules.loaded", versions=_versions(generation))
        return cls(settings, generation)

    @property
    def loaded(self) -> bool:
        """Whether a valid set is live (always, once `load` has succeeded)."""
        return self._current is not None

    def version(self, account_id: str) -> str:
        """The content hash of the account's live rule set."""
        return self._current.ruleset(account_id).version

    def decide(self, account_id: str, facts: OrderFacts) -> ShippingDecision:
        """The live rules' decision for the account."""
        return self._current.engine.decide(account_id, facts)

    def translate(
        self, account_id: str, channel: str, webshop_status: str
    ) -> str | None:
        """The Buckles status for a channel's status, or None when it is not mapped."""
        return self._current.tree.status(account_id).translate(channel, webshop_status)

    def reload(self) -> bool:
        """Check and test the files; swap them in, or keep the old set and log why."""
        with self._reload_lock:
            generation, problems = build_generation(
                self._settings.path, self._settings.known_methods
            )
            if generation is None:
                for problem in problems:
                    log.warning(
                        "rules.reload_rejected",
                        file=problem.file,
                        line=problem.line,
                        column=problem.column,
                        reason=problem.message,
                    )
                return False
            self._current = generation
        log.info("rules.reloaded", versions=_versions(generation))
        return True

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload when a file under the rules folder changes, until `stop` is set."""
        async for _changes in awatch(
            self._settings.path, stop_event=stop, debounce=200, step=50
        ):
            await asyncio.to_thread(self.reload)

    def evaluate_candidate(
        self, account_id: str, rule_text: str, facts: OrderFacts
    ) -> ShippingDecision:
        """A dry run of a candidate rule file for the account, with no side effects.

        The candidate takes the place of the account's own rules (of the default
        rules for an account without a folder); the default rules still follow.
        """
        file = f"candidate:{account_id}"
        rules, report = read_rule_text(rule_text, file, self._settings.known_methods)
        if report.problems:
            raise RuleFileError(report.problems)
        ruleset = _candidate_set(
            self._current.tree, account_id, tuple(rules), rule_text
        )
        engine = DurableShippingRules({account_id: ruleset}, fallback=account_id)
        return engine.decide(account_id, facts)


def _candidate_set(
    tree: RulesTree, account_id: str, rules: tuple[Rule, ...], text: str
) -> RuleSet:
    has_folder = account_id in tree.layers and account_id != DEFAULT
    following = tree.ruleset(DEFAULT).rules if has_folder else ()
    version = "candidate-" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return RuleSet(account_id, (*rules, *following), version)


def _versions(generation: Generation) -> dict[str, str]:
    names = [DEFAULT, *generation.tree.accounts]
    return {name: generation.ruleset(name).version for name in names}
