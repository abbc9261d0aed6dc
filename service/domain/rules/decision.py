"""Shipping decisions, their explanations, and the ports that produce them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from service.domain.rules.evaluate import first_match, why_not
from service.domain.rules.facts import OrderFacts
from service.domain.rules.model import Rule, RuleSet


@dataclass(frozen=True)
class RuleMiss:
    """A rule above the deciding one, and the first of its conditions that failed."""

    rule_id: str
    file: str
    line: int
    reason: str

    @property
    def text(self) -> str:
        """One line: "heavy-to-dhl did not match: weight 2.3 kg is not above 20 kg"."""
        return f"{self.rule_id} did not match: {self.reason}"


@dataclass(frozen=True)
class Explanation:
    """Why an order got its method: the outcome, then each rule passed over."""

    summary: str
    misses: tuple[RuleMiss, ...]

    @property
    def text(self) -> str:
        """The explanation as lines a person reads."""
        return "\n".join([self.summary, *(f"  {miss.text}" for miss in self.misses)])


@dataclass(frozen=True)
class ShippingDecision:
    """The final shipping preference of an order and where it came from.

    The explanation is worked out on first use, so that deciding stays fast
    when nobody asks why.
    """

    method: str
    source: Literal["rule", "checkout"]
    rule_id: str | None
    rule_file: str | None
    rule_line: int | None
    ruleset_version: str
    _explain: Callable[[], Explanation] = field(repr=False, compare=False)

    @functools.cached_property
    def explanation(self) -> Explanation:
        """The structured explanation, with `.text` for people."""
        return self._explain()


class ShippingRules(Protocol):
    """Decides the shipping method of an order for an account."""

    def decide(self, account_id: str, facts: OrderFacts) -> ShippingDecision:
        """The decision of the account's live rules for these facts."""
        ...


class StatusMappings(Protocol):
    """Translates a sales channel's order status into a Buckles status."""

    def translate(
        self, account_id: str, channel: str, webshop_status: str
    ) -> str | None:
        """The Buckles status, or None when the mapping does not know the status."""
        ...


def decision_for(
    ruleset: RuleSet, facts: OrderFacts, index: int | None
) -> ShippingDecision:
    """The decision when rule `index` of the set matched (None: no rule matched)."""
    rules = ruleset.rules
    explain = functools.partial(explain_decision, ruleset, facts, index)
    if index is None:
        return ShippingDecision(
            method=facts.shipping_preference,
            source="checkout",
            rule_id=None,
            rule_file=None,
            rule_line=None,
            ruleset_version=ruleset.version,
            _explain=explain,
        )
    rule = rules[index]
    return ShippingDecision(
        method=rule.outcome.method,
        source="rule",
        rule_id=rule.id,
        rule_file=rule.file,
        rule_line=rule.line,
        ruleset_version=ruleset.version,
        _explain=explain,
    )


def decide_plain(ruleset: RuleSet, facts: OrderFacts) -> ShippingDecision:
    """The decision of the plain-Python evaluator: the oracle of the tests."""
    return decision_for(ruleset, facts, first_match(ruleset.rules, facts))


def explain_decision(
    ruleset: RuleSet, facts: OrderFacts, index: int | None
) -> Explanation:
    """The explanation of a decision: its outcome, then why each rule above failed."""
    passed_over = ruleset.rules if index is None else ruleset.rules[:index]
    misses = tuple(_miss(rule, facts) for rule in passed_over)
    return Explanation(_summary(ruleset, facts, index), misses)


def _miss(rule: Rule, facts: OrderFacts) -> RuleMiss:
    reason = why_not(rule.condition, facts) or "it matched here, the engine disagreed"
    return RuleMiss(rule.id, rule.file, rule.line, reason)


def _summary(ruleset: RuleSet, facts: OrderFacts, index: int | None) -> str:
    version = f"rule set {ruleset.name} version {ruleset.version}"
    if index is None:
        preference = facts.shipping_preference or "(empty)"
        return (
            f"Method {preference!r} kept from checkout: no rule matched "
            f"({version}, {len(ruleset.rules)} rules)."
        )
    rule = ruleset.rules[index]
    return (
        f"Method {rule.outcome.method!r} from rule {rule.id} "
        f"({rule.file}:{rule.line}; {version})."
    )
