"""The identity rules of issue 6, decided by the ProductCatalogue."""

from __future__ import annotations

from service.domain.products import (
    Listing,
    Outcome,
    ProductState,
    SendAction,
)
from tests.unit.products.builders import EAN_A, EAN_B, NOW, catalogue, product, settled


class TestNewProducts:
    """A product seen for the first time becomes a Boltrics product."""

    def test_the_sku_becomes_the_external_no(self) -> None:
        """A new product is created under its SKU and queued as an INSERT."""
        book = catalogue()

        result = book.upsert(product(), NOW)

        assert (result.outcome, result.external_no) == (Outcome.CREATED, "SKU-1")
        assert book.changes.sends == {"SKU-1": SendAction.INSERT}
        assert book.records["SKU-1"].info.description == "Mug"

    def test_without_sku_the_barcode_becomes_the_external_no(self) -> None:
        """A product without SKU is created under its first barcode."""
        result = catalogue().upsert(product(sku="", barcodes=(EAN_B, EAN_A)), NOW)

        assert (result.outcome, result.external_no) == (Outcome.CREATED, EAN_B)


class TestFixedExternalNo:
    """Once given, an ExternalNo never changes."""

    def test_a_sku_change_keeps_the_external_no_and_says_so(self) -> None:
        """The same Buckles product with a new SKU keeps its ExternalNo, warned."""
        book = catalogue()
        book.upsert(product(), NOW)
        book = settled(book)

        result = book.upsert(product(sku="SKU-NEW"), NOW)

        assert result.external_no == "SKU-1"
        assert "SKU-NEW" not in book.records
        assert any("ExternalNo SKU-1 is kept" in w for w in result.warnings)
        events = [notice.event for _, notice in book.changes.notices]
        assert events == ["product.sku_change_ignored"]


class TestDeduplication:
    """The same SKU anywhere is one Boltrics product."""

    def test_two_shops_with_one_sku_make_one_product(self) -> None:
        """A second shop's listing with the same SKU is linked, not created."""
        book = catalogue()
        book.upsert(product(), NOW)

        result = book.upsert(product(product_id="p-2", shop="shop-b"), NOW)

        assert (result.outcome, result.external_no) == (Outcome.LINKED, "SKU-1")
        assert list(book.records) == ["SKU-1"]
        assert set(book.changes.listings) == {
            Listing(product_id="p-1", source_platform="shopify", shop="shop-a"),
            Listing(product_id="p-2", source_platform="shopify", shop="shop-b"),
        }

    def test_the_first_channel_wins(self) -> None:
        """Another channel's name and weight never overwrite the first one's."""
        book = catalogue()
        book.upsert(product(), NOW)
        book = settled(book)
        other = product(
            product_id="p-9", source_platform="bol", name="Beker", weight_kg=9
        )

        result = book.upsert(other, NOW)
        again = book.upsert(other, NOW)

        assert result.outcome is Outcome.LINKED
        assert again.outcome is Outcome.UNCHANGED
        assert book.records["SKU-1"].info.description == "Mug"
        assert book.changes.sends == {}

    def test_a_change_from_the_first_channel_is_an_update(self) -> None:
        """The first listing's new name goes to Boltrics as an UPDATE."""
        book = catalogue()
        book.upsert(product(), NOW)
        book.records["SKU-1"] = book.records["SKU-1"].change(
            state=ProductState.CREATED, in_boltrics=True
        )
        book = settled(book)

        result = book.upsert(product(name="Big mug"), NOW)

        assert result.outcome is Outcome.UPDATED
        assert book.changes.sends == {"SKU-1": SendAction.UPDATE}
        assert book.records["SKU-1"].info.description == "Big mug"


class TestDuplicateBarcode:
    """The same barcode under another SKU splits stock, and is warned about."""

    def test_the_warning_names_both_external_nos(self) -> None:
        """A second SKU with a known barcode is its own product, with a warning."""
        book = catalogue()
        book.upsert(product(), NOW)

        result = book.upsert(product(product_id="p-2", sku="SKU-2"), NOW)

        assert (result.outcome, result.external_no) == (Outcome.CREATED, "SKU-2")
        [warning] = result.warnings
        assert "ExternalNo SKU-1" in warning and "ExternalNo SKU-2" in warning
        assert [n.event for _, n in book.changes.notices] == [
            "product.duplicate_barcode"
        ]

    def test_linking_by_barcode_links_to_the_existing_product(self) -> None:
        """With link_by_barcode on, the second SKU is linked, not created."""
        book = catalogue(link_by_barcode=True)
        book.upsert(product(), NOW)

        result = book.upsert(product(product_id="p-2", sku="SKU-2"), NOW)

        assert (result.outcome, result.external_no) == (Outcome.LINKED, "SKU-1")
        assert list(book.records) == ["SKU-1"]
        assert "linked to ExternalNo SKU-1" in result.warnings[0]


class TestNothingChanged:
    """Nothing is sent when nothing changed."""

    def test_the_same_product_again_is_unchanged(self) -> None:
        """The first listing with the same content changes and sends nothing."""
        book = catalogue()
        book.upsert(product(), NOW)
        book = settled(book)

        result = book.upsert(product(), NOW)

        assert result.outcome is Outcome.UNCHANGED
        assert book.changes.sends == {} and book.changes.records == {}

    def test_a_failed_product_goes_again_when_its_first_listing_comes(self) -> None:
        """The daily sync retries a product Boltrics failed, as an INSERT."""
        book = catalogue()
        book.upsert(product(), NOW)
        book.records["SKU-1"] = book.records["SKU-1"].change(
            state=ProductState.FAILED, last_error="boom"
        )
        book = settled(book)

        result = book.upsert(product(), NOW)

        assert result.outcome is Outcome.CREATED
        assert book.changes.sends == {"SKU-1": SendAction.INSERT}
        assert book.records["SKU-1"].state is ProductState.PENDING

    def test_a_failed_product_goes_again_from_another_listing(self) -> None:
        """The first shop may list it no more: another shop's listing of a
        failed product sends it again, with the first listing's information."""
        book = catalogue()
        book.upsert(product(), NOW)
        book.upsert(product(product_id="p-2", shop="shop-b", name="Other"), NOW)
        book.records["SKU-1"] = book.records["SKU-1"].change(
            state=ProductState.FAILED, last_error="boom", in_boltrics=True
        )
        book = settled(book)

        result = book.upsert(product(product_id="p-2", shop="shop-b"), NOW)

        assert result.outcome is Outcome.UPDATED
        assert book.changes.sends == {"SKU-1": SendAction.UPDATE}
        assert book.records["SKU-1"].state is ProductState.PENDING
        assert book.records["SKU-1"].info.description == "Mug"
