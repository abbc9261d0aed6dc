"""Page walks through next-links return every row exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from service.adapters.boltrics import Direction, HttpxBoltricsGateway, MessageType
from tests.integration.boltrics.conftest import Control
from tests.integration.boltrics.orders import order_xml


class TestPaging:
    """stockLevels and diMessages are paged through completely."""

    async def test_walk_over_25000_stock_levels_returns_each_once(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """25,000 stock levels come back once each, with their quantities."""
        items = [
            {"externalNo": f"SKU-{number:05d}", "qtyInInventory": number % 97}
            for number in range(25_000)
        ]
        await control.call("PUT", "/stock", {"items": items})

        levels = [level async for level in gateway.stock_levels(page_size=1000)]

        counts = Counter(level.external_no for level in levels)
        assert len(counts) == 25_000 and set(counts.values()) == {1}
        assert {level.external_no: level.qty_in_inventory for level in levels} == {
            item["externalNo"]: item["qtyInInventory"] for item in items
        }

    async def test_stock_levels_since_a_moment_leave_older_ones_out(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """Only items changed after `modified_since` are listed."""
        await control.call("PUT", "/stock", {"items": [{"externalNo": "OLD"}]})
        since = datetime.now(UTC)
        await control.call("PUT", "/stock", {"items": [{"externalNo": "NEW"}]})

        levels = [level async for level in gateway.stock_levels(modified_since=since)]

        assert [level.external_no for level in levels] == ["NEW"]
        assert since - timedelta(seconds=5) < levels[0].modified_at

    async def test_message_list_pages_with_filters(
        self, gateway: HttpxBoltricsGateway, control: Control
    ) -> None:
        """Thirty messages listed seven a page come back once each, oldest first."""
        await control.add_items("SKU-1")
        for number in range(30):
            reference = f"order-{number:02d}"
            await gateway.submit(
                MessageType.RECEIVE_SHIPMENT, reference, order_xml(reference)
            )

        listed = [
            message.external_reference
            async for message in gateway.list_messages(
                direction=Direction.INBOUND,
                message_type=MessageType.RECEIVE_SHIPMENT,
                page_size=7,
            )
        ]

        assert listed == [f"order-{number:02d}" for number in range(30)]
