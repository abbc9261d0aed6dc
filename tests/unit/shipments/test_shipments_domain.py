"""The shipment domain: validation and the rule for applying a shipment."""

from __future__ import annotations

from datetime import UTC, datetime

from service.domain.orders import (
    Decision,
    Order,
    OrderRecord,
    OrderState,
    TimelineKind,
)
from service.domain.shipments import (
    ShipmentConfirmation,
    ShippedLine,
    apply_shipment,
    unknown_order_result,
    validate_confirmation,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _record(method: str = "POSTNL", **changes: object) -> OrderRecord:
    record = OrderRecord(
        account_id="acme",
        order=Order(order_id="o-1", source_platform="shopify", shop="shop-a"),
        state=OrderState.PROCESSED,
        buckles_status="processing",
        fingerprint="f",
        decision=Decision(method=method, source="checkout"),
        created_at=NOW,
        updated_at=NOW,
    )
    return record.change(**changes)


def _confirmation(**changes: object) -> ShipmentConfirmation:
    values: dict[str, object] = {
        "shipment_no": "UIT-000001",
        "order_id": "o-1",
        "posting_date": "2026-12-02",
        "shipping_agent_code": "DHL",
        "lines": (ShippedLine(external_no="SKU-1", quantity="2"),),
    }
    values.update(changes)
    return ShipmentConfirmation.model_validate(values)


class TestValidateConfirmation:
    def test_a_complete_confirmation_passes(self) -> None:
        """Order id, shipment number and method given: no violations."""
        assert validate_confirmation(_confirmation()) == []

    def test_each_missing_field_is_one_violation(self) -> None:
        """No order id, shipment number or method: three violations, by field."""
        confirmation = _confirmation(
            order_id="", shipment_no=" ", shipping_agent_code=""
        )

        fields = [v.field for v in validate_confirmation(confirmation)]

        assert fields == [
            "shipment.order_id",
            "shipment.shipment_no",
            "shipment.shipping_agent_code",
        ]

    def test_bad_date_and_quantity_are_named(self) -> None:
        """A posting date that is no date and a negative quantity are refused."""
        confirmation = _confirmation(
            posting_date="02-12-2026",
            lines=(ShippedLine(external_no="A", quantity="-1"),),
        )

        fields = [v.field for v in validate_confirmation(confirmation)]

        assert fields == ["shipment.posting_date", "shipment.lines[0].quantity"]

    def test_blank_tracking_number_is_none(self) -> None:
        """An empty or blank tracking number is no tracking number."""
        assert _confirmation(tracking_number="").tracking_number is None
        assert _confirmation(tracking_number="  ").tracking_number is None
        assert _confirmation(tracking_url="").tracking_url is None


class TestApplyShipment:
    def test_changed_method_overwrites_and_says_from_what_to_what(self) -> None:
        """DHL instead of POSTNL: the order's method is DHL and the timeline says so."""
        applied = apply_shipment(_record("POSTNL"), _confirmation(), NOW)

        assert applied.record.state is OrderState.SHIPPED
        assert applied.record.method_used == "DHL"
        assert applied.result.method_changed is True
        assert applied.result.preferred_method == "POSTNL"
        assert [e.kind for e in applied.entries] == [
            TimelineKind.SHIPPED,
            TimelineKind.METHOD_CHANGED,
        ]
        assert applied.entries[1].message == (
            "shipping method changed from 'POSTNL' to 'DHL'"
        )

    def test_same_method_writes_only_shipped(self) -> None:
        """The preferred method used (in other case): shipped, no change."""
        applied = apply_shipment(
            _record("dhl"), _confirmation(tracking_number="3S123"), NOW
        )

        assert applied.result.method_changed is False
        assert [e.kind for e in applied.entries] == [TimelineKind.SHIPPED]
        assert "track & trace 3S123" in applied.entries[0].message

    def test_result_carries_the_orders_platform_and_shop(self) -> None:
        """The result names source platform, shop, lines and posting date."""
        result = apply_shipment(_record(), _confirmation(), NOW).result

        assert (result.source_platform, result.shop) == ("shopify", "shop-a")
        assert result.lines == (ShippedLine(external_no="SKU-1", quantity="2"),)
        assert result.posting_date == "2026-12-02"
        assert result.order_known is True

    def test_without_tracking_number_the_result_says_none(self) -> None:
        """No tracking number: None in the result and said on the timeline."""
        applied = apply_shipment(_record(), _confirmation(), NOW)

        assert applied.result.tracking_number is None
        assert applied.entries[0].message.endswith("no track & trace number")

    def test_split_shipment_with_same_changed_method_says_change_once(self) -> None:
        """The second shipment with the already-changed method adds no change entry."""
        first = apply_shipment(_record("POSTNL"), _confirmation(), NOW)

        second = apply_shipment(
            first.record, _confirmation(shipment_no="UIT-000002"), NOW
        )

        assert [e.kind for e in second.entries] == [TimelineKind.SHIPPED]
        assert second.result.method_changed is True

    def test_unknown_order_result_says_unknown(self) -> None:
        """A confirmation without order: order_known is false, method as used."""
        result = unknown_order_result("acme", _confirmation())

        assert result.order_known is False
        assert result.method_used == "DHL"
        assert result.timeline == ()
