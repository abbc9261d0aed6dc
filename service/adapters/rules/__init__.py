"""Rule files on disk, their validation, durable_rules, and the live runtime."""

from service.adapters.rules.durable import DurableShippingRules, RuleEngineError
from service.adapters.rules.runtime import (
    CaseResult,
    RuleFileError,
    RulesLoadError,
    RulesRuntime,
    build_generation,
    run_cases,
)
from service.adapters.rules.schema import rules_schema
from service.adapters.rules.tree import RulesTree, load_tree

__all__ = [
    "CaseResult",
    "DurableShippingRules",
    "RuleEngineError",
    "RuleFileError",
    "RulesLoadError",
    "RulesRuntime",
    "RulesTree",
    "build_generation",
    "load_tree",
    "rules_schema",
    "run_cases",
]
