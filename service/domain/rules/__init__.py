"""Shipping rules and status mappings, as pure Python: model, facts, evaluation."""

from service.domain.rules.decision import (
    Explanation,
    RuleMiss,
    ShippingDecision,
    ShippingRules,
    StatusMappings,
    decide_plain,
    decision_for,
    explain_decision,
)
from service.domain.rules.evaluate import first_match, holds, why_not
from service.domain.rules.facts import OrderFacts, OrderFactsError
from service.domain.rules.model import (
    ALWAYS,
    FACTS,
    OPERATORS,
    AllOf,
    AnyOf,
    Condition,
    FactSpec,
    Kind,
    Not,
    Op,
    Outcome,
    Rule,
    RuleSet,
    Test,
)
from service.domain.rules.status import BUCKLES_STATUSES, StatusMapping

__all__ = [
    "ALWAYS",
    "BUCKLES_STATUSES",
    "FACTS",
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "Condition",
    "Explanation",
    "FactSpec",
    "Kind",
    "Not",
    "Op",
    "OrderFacts",
    "OrderFactsError",
    "Outcome",
    "Rule",
    "RuleMiss",
    "RuleSet",
    "ShippingDecision",
    "ShippingRules",
    "StatusMapping",
    "StatusMappings",
    "Test",
    "decide_plain",
    "decision_for",
    "explain_decision",
    "first_match",
    "holds",
    "why_not",
]
