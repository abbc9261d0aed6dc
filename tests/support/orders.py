"""Orders as the tests write them: paid, Processing, one line."""

from __future__ import annotations

from service.domain.orders import Address, Order, OrderLine


def an_order(
    order_id: str = "o-1", *, sku: str = "SKU-1", quantity: int = 1, **changes: object
) -> Order:
    """A paid Processing order of `quantity` of `sku`, with `changes` applied."""
    order = Order(
        order_id=order_id,
        order_number=order_id,
        source_platform="woo",
        buckles_status="processing",
        paid=True,
        delivery_address=Address(name="A", postcode="1234AB", city="X", country="NL"),
        lines=(OrderLine(sku=sku, quantity=quantity),),
        shipping_preference="standard",
    )
    return order.model_copy(update=changes)
