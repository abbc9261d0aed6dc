"""The identity rules of issue 6, end to end: service, store and sandbox."""

from __future__ import annotations

import pytest

from service.domain.products import Outcome, ProductState
from service.errors import InvalidArgument, NotFound
from tests.integration.products.conftest import ACCOUNT, EAN_A, Harness, product

EAN_B = "5901234123457"


class TestExternalNo:
    """The ExternalNo is the SKU, else the barcode, else the product is refused."""

    async def test_the_sku_becomes_the_external_no_in_boltrics(
        self, harness: Harness
    ) -> None:
        """A product is created in Boltrics under its SKU, with its data."""
        service = harness.service()

        result = await service.upsert(ACCOUNT, product())
        await harness.drain()

        assert (result.outcome, result.external_no) == (Outcome.CREATED, "SKU-1")
        item = (await harness.items())["SKU-1"]
        assert (item["description"], item["eanCode"]) == ("Mug", EAN_A)
        view = await service.get(ACCOUNT, product_id="p-1")
        assert view.state is ProductState.CREATED

    async def test_without_sku_the_barcode_is_the_external_no(
        self, harness: Harness
    ) -> None:
        """A product without SKU is created in Boltrics under its barcode."""
        service = harness.service()

        result = await service.upsert(ACCOUNT, product(sku=""))
        await harness.drain()

        assert result.external_no == EAN_A
        assert list(await harness.items()) == [EAN_A]

    async def test_without_sku_and_barcode_the_product_is_refused(
        self, harness: Harness
    ) -> None:
        """UpsertProduct refuses it with product.sku; nothing is stored or sent."""
        service = harness.service()

        with pytest.raises(InvalidArgument) as refused:
            await service.upsert(ACCOUNT, product(sku="", barcodes=()))

        assert [v.field for v in refused.value.violations] == ["product.sku"]
        with pytest.raises(NotFound):
            await service.get(ACCOUNT, product_id="p-1")

    async def test_in_a_sync_bad_products_are_refused_one_by_one(
        self, harness: Harness
    ) -> None:
        """A bad product gets its own refusal; the good one is created."""
        service = harness.service()
        products = [product(product_id="p-0", sku="", barcodes=()), product()]

        results = await service.sync(ACCOUNT, products)
        await harness.drain()

        assert [r.outcome for r in results] == [Outcome.REFUSED, Outcome.CREATED]
        assert results[0].violations[0].field == "products[0].sku"
        assert list(await harness.items()) == ["SKU-1"]

    async def test_a_sku_change_keeps_the_external_no(self, harness: Harness) -> None:
        """After a SKU change the product keeps its ExternalNo, and says so."""
        service = harness.service()
        await service.upsert(ACCOUNT, product())
        await harness.drain()

        result = await service.upsert(ACCOUNT, product(sku="SKU-NEW"))
        await harness.drain()

        assert result.external_no == "SKU-1"
        assert any("SKU-1 is kept" in warning for warning in result.warnings)
        assert list(await harness.items()) == ["SKU-1"]


class TestDeduplication:
    """One SKU is one Boltrics product; its data comes from the first channel."""

    async def test_two_shops_with_one_sku_make_one_boltrics_item(
        self, harness: Harness
    ) -> None:
        """Two shops selling SKU-1 give one item, linked to both listings."""
        service = harness.service()

        results = await service.sync(
            ACCOUNT, [product(), product(product_id="p-2", shop="shop-b")]
        )
        await harness.drain()

        assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.LINKED]
        assert list(await harness.items()) == ["SKU-1"]
        view = await service.get(ACCOUNT, external_no="SKU-1")
        assert {listing.shop for listing in view.listings} == {"shop-a", "shop-b"}

    async def test_the_first_channel_wins(self, harness: Harness) -> None:
        """Another channel's name is ignored; the first channel's change is an
        UPDATE in Boltrics."""
        service = harness.service()
        await service.upsert(ACCOUNT, product())
        await service.upsert(ACCOUNT, product(product_id="b-1", source_platform="bol"))
        await harness.drain()

        other = await service.upsert(
            ACCOUNT, product(product_id="b-1", source_platform="bol", name="Beker")
        )
        first = await service.upsert(ACCOUNT, product(name="Large mug"))
        await harness.drain()

        assert (other.outcome, first.outcome) == (Outcome.UNCHANGED, Outcome.UPDATED)
        assert (await harness.items())["SKU-1"]["description"] == "Large mug"
        actions = [
            "<ProcesAction>UPDATE" in m["xml"] for m in await harness.product_messages()
        ]
        assert actions == [False, True]


class TestDuplicateBarcode:
    """The same barcode under another SKU is warned about."""

    async def test_the_warning_names_both_and_makes_two_items(
        self, harness: Harness
    ) -> None:
        """Without linking by barcode, both SKUs become items and the answer warns."""
        service = harness.service()
        await service.upsert(ACCOUNT, product())

        result = await service.upsert(ACCOUNT, product(product_id="p-2", sku="SKU-2"))
        await harness.drain()

        assert "ExternalNo SKU-1" in result.warnings[0]
        assert "ExternalNo SKU-2" in result.warnings[0]
        assert sorted(await harness.items()) == ["SKU-1", "SKU-2"]

    async def test_linking_by_barcode_makes_one_item(self, harness: Harness) -> None:
        """With link_by_barcode the second SKU is linked to the first product."""
        harness.connect(harness.company_id, link_by_barcode=True)
        service = harness.service()
        await service.upsert(ACCOUNT, product())

        result = await service.upsert(ACCOUNT, product(product_id="p-2", sku="SKU-2"))
        await harness.drain()

        assert (result.outcome, result.external_no) == (Outcome.LINKED, "SKU-1")
        assert list(await harness.items()) == ["SKU-1"]


class TestNothingChanged:
    """The same product again sends nothing."""

    async def test_nothing_is_sent_when_nothing_changed(self, harness: Harness) -> None:
        """A repeat of a created product is UNCHANGED and posts no message."""
        service = harness.service()
        await service.upsert(ACCOUNT, product())
        await harness.drain()

        result = await service.upsert(ACCOUNT, product())
        await harness.drain()

        assert result.outcome is Outcome.UNCHANGED
        assert len(await harness.product_messages()) == 1
