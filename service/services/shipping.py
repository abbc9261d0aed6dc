"""Shipping decisions for orders, from the account's shipping rules."""

from __future__ import annotations

from service.domain.orders import Decision, Order


class CheckoutDecider:
    """The decision when an account has no shipping rules: the checkout's text."""

    def decide(self, account_id: str, order: Order) -> Decision:
        """The checkout's preference, passed on as is."""
        return Decision(
            method=order.shipping_preference,
            source="checkout",
            checkout_preference=order.shipping_preference,
            explanation="no shipping rules apply; the checkout's preference is kept",
        )


class NoStatusMappings:
    """Status mappings that know no webshop status at all."""

    def translate(
        self, account_id: str, channel: str, webshop_status: str
    ) -> str | None:
        """Nothing is known."""
        return None
