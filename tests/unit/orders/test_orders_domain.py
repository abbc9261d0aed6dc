"""The order domain: validation, forwarding, fingerprints, unknown items."""

from __future__ import annotations

from service.domain.orders import (
    MAX_ORDER_ID,
    Address,
    Order,
    OrderLine,
    forwarding,
    unknown_items,
    validate_order,
)


def _order(**changes: object) -> Order:
    base = Order(
        order_id="o-1",
        buckles_status="processing",
        paid=True,
        total_amount="10.00",
        delivery_address=Address(postcode="1234AB", country="NL"),
        lines=(OrderLine(sku="A", quantity=1, unit_price="10.00"),),
    )
    return base.model_copy(update=changes)


def _fields(order: Order) -> list[str]:
    return [violation.field for violation in validate_order(order)]


class TestValidateOrder:
    def test_a_good_order_has_no_violations(self) -> None:
        """A complete order passes."""
        assert validate_order(_order()) == []

    def test_every_problem_is_reported_not_only_the_first(self) -> None:
        """No order id, bad country, zero quantity, negative price: four violations."""
        order = _order(
            order_id="",
            delivery_address=Address(country="Netherlands"),
            lines=(OrderLine(sku="A", quantity=0, unit_price="-1"),),
        )

        assert _fields(order) == [
            "order.order_id",
            "order.delivery_address.country",
            "order.lines[0].quantity",
            "order.lines[0].unit_price",
        ]

    def test_an_order_id_boltrics_could_not_carry_is_refused(self) -> None:
        """The id, "~" and its generation are the order's reference in Boltrics,
        at most 100 characters: a longer id would be accepted and never sent."""
        longest = "x" * MAX_ORDER_ID

        assert _fields(_order(order_id=longest)) == []
        assert _fields(_order(order_id=longest + "x")) == ["order.order_id"]
        assert len(_order(order_id=longest).order_id + "~999999999") == 100

    def test_no_lines(self) -> None:
        """An order without lines names order.lines."""
        assert _fields(_order(lines=())) == ["order.lines"]

    def test_line_without_any_identity(self) -> None:
        """A line with neither SKU, barcode nor product id names the line."""
        violations = validate_order(_order(lines=(OrderLine(quantity=1),)))

        assert [(v.field, v.description) for v in violations] == [
            ("order.lines[0]", "give at least one of sku, barcode or product_id")
        ]

    def test_status_is_required(self) -> None:
        """Neither a Buckles status nor a webshop status is a violation."""
        assert _fields(_order(buckles_status=None)) == ["order.status"]

    def test_a_control_character_xml_cannot_carry_is_refused(self) -> None:
        """A vertical tab in a line's name (pasted from a word processor)
        would make the order's XML impossible to build: the field is named."""
        order = _order(
            lines=(OrderLine(sku="A", name="Shirt\x0bblue", quantity=1),),
            delivery_address=Address(country="NL", city="Zwolle\tcentrum"),
        )

        violations = validate_order(order)

        assert [(v.field, v.description) for v in violations] == [
            ("order.lines[0].name", "holds the control character U+000B")
        ]

    def test_negative_quantity_text(self) -> None:
        """The quantity's violation says what was given."""
        order = _order(lines=(OrderLine(sku="A", quantity=-2),))

        assert validate_order(order)[0].description == "must be at least 1, not -2"


class TestForwarding:
    def test_only_paid_processing_orders_are_forwarded(self) -> None:
        """Processing and paid goes; other statuses and unpaid orders say why not."""
        assert forwarding(_order(), "processing").forward is True
        assert (
            forwarding(_order(), "on_hold").reason
            == "status is on hold, not processing"
        )
        assert (
            forwarding(_order(paid=False), "processing").reason
            == "the order is not paid"
        )


class TestFingerprint:
    def test_status_and_payment_do_not_change_it(self) -> None:
        """An order that comes again with only a new status is the same content."""
        assert (
            _order().fingerprint()
            == _order(buckles_status="on_hold", paid=False).fingerprint()
        )

    def test_address_changes_it(self) -> None:
        """Another postcode is other content."""
        other = _order(delivery_address=Address(postcode="9999ZZ", country="NL"))

        assert _order().fingerprint() != other.fingerprint()


class TestExternalNo:
    def test_sku_then_barcode_then_product_id(self) -> None:
        """A line goes out under its SKU, else its barcode, else its product id."""
        assert OrderLine(sku="S", barcode="1", product_id="p").external_no == "S"
        assert OrderLine(sku=" ", barcode="1", product_id="p").external_no == "1"
        assert OrderLine(product_id="p").external_no == "p"

    def test_the_listings_external_no_comes_first_and_is_no_content(self) -> None:
        """A line's product known under another ExternalNo goes out under it;
        setting it changes neither other lines nor the order's fingerprint."""
        order = _order(
            lines=(
                OrderLine(product_id="p-1", sku="NEW", quantity=1),
                OrderLine(product_id="p-2", sku="B", quantity=1),
            )
        )

        resolved = order.with_items({"p-1": "OLD"})

        assert [line.external_no for line in resolved.lines] == ["OLD", "B"]
        assert resolved.fingerprint() == order.fingerprint()


class TestUnknownItems:
    def test_names_the_items_boltrics_does_not_know(self) -> None:
        """Boltrics' error text is matched against the order's ExternalNos."""
        assert unknown_items("Item SKU-2 does not exist", ["SKU-1", "SKU-2"]) == [
            "SKU-2"
        ]

    def test_other_errors_name_no_items(self) -> None:
        """An address error waits for no product."""
        assert unknown_items("Ship-to address has no PostCode", ["SKU-1"]) == []
