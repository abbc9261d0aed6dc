"""Shipping decisions for orders, from the account's shipping rules."""

from __future__ import annotations

from service.domain.orders import Decision, Order, RuleMiss
from service.domain.rules import OrderFacts, ShippingDecision, ShippingRules
from service.domain.rules.facts import OrderFactsError
from service.errors import FieldViolation, InvalidArgument
from service.metrics import RULE_HITS


def order_facts(order: Order) -> OrderFacts:
    """The facts the rules see of an order; a field they cannot read is named."""
    try:
        return OrderFacts.from_order_mapping(order.model_dump(mode="json"))
    except OrderFactsError as exc:
        field, _, _ = str(exc).partition(" ")
        raise InvalidArgument([FieldViolation(f"order.{field}", str(exc))]) from exc


def as_decision(decision: ShippingDecision, order: Order) -> Decision:
    """The order's stored decision, with its whole explanation."""
    explanation = decision.explanation
    return Decision(
        method=decision.method,
        source=decision.source,
        checkout_preference=order.shipping_preference,
        rule_id=decision.rule_id,
        rule_file=decision.rule_file,
        rule_line=decision.rule_line,
        ruleset_version=decision.ruleset_version,
        misses=tuple(
            RuleMiss(
                rule_id=miss.rule_id, file=miss.file, line=miss.line, reason=miss.reason
            )
            for miss in explanation.misses
        ),
        explanation=explanation.text,
    )


class RulesDecider:
    """Decides an order's shipping method with the live shipping rules."""

    def __init__(self, rules: ShippingRules):
        self._rules = rules

    def decide(self, account_id: str, order: Order) -> Decision:
        """The first matching rule's method, else the checkout's preference."""
        decision = self._rules.decide(account_id, order_facts(order))
        RULE_HITS.labels(account_id, decision.rule_id or "none").inc()
        return as_decision(decision, order)


class CheckoutDecider:
    """The decision without shipping rules: the checkout's text, as is.

    For tools that handle orders without deciding anew (the operator CLI).
    """

    def decide(self, account_id: str, order: Order) -> Decision:
        """The checkout's preference, passed on as is."""
        return Decision(
            method=order.shipping_preference,
            source="checkout",
            checkout_preference=order.shipping_preference,
            explanation="no shipping rules apply; the checkout's preference is kept",
        )


class NoStatusMappings:
    """Status mappings that know no webshop status at all (for tools)."""

    def translate(
        self, account_id: str, channel: str, webshop_status: str
    ) -> str | None:
        """Nothing is known."""
        return None
