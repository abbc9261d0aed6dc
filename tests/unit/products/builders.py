"""Products and catalogues for the domain tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.domain.products import ChannelProduct, ProductCatalogue

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EAN_A = "4006381333931"
EAN_B = "5901234123457"


def product(**changes: Any) -> ChannelProduct:
    """A valid product from shop-a on Shopify, with `changes` applied."""
    values: dict[str, Any] = {
        "product_id": "p-1",
        "source_platform": "shopify",
        "shop": "shop-a",
        "sku": "SKU-1",
        "barcodes": (EAN_A,),
        "name": "Mug",
        "weight_kg": 0.35,
    }
    values.update(changes)
    return ChannelProduct(**values)


def catalogue(*, link_by_barcode: bool = False) -> ProductCatalogue:
    """An empty catalogue of account acme."""
    return ProductCatalogue(account_id="acme", link_by_barcode=link_by_barcode)


def settled(book: ProductCatalogue) -> ProductCatalogue:
    """The same catalogue as a later call would load it: nothing pending."""
    return ProductCatalogue(
        account_id=book.account_id,
        link_by_barcode=book.link_by_barcode,
        listings=dict(book.listings),
        records=dict(book.records),
        barcodes={code: set(owners) for code, owners in book.barcodes.items()},
    )
