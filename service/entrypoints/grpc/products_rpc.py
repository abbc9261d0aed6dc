"""Products between the API and the domain: pure conversions, no I/O.

The servicer calls these around `ProductService`:

- `UpsertProduct`: `product_from_proto(request.product)`, then
  `pb.UpsertProductResponse(result=result_to_proto(result))`.
- `SyncProducts`: `products_from_proto(request.products)`, then
  `sync_response(results)`.
- `GetProduct`: `lookup_key(request)` gives the keyword arguments of
  `ProductService.get`; `pb.GetProductResponse(product=view_to_proto(view))`.
- `WatchEvents`: a PRODUCT_CHANGED event's payload is a `ProductView` as JSON;
  `view_from_payload(payload)` turns it into the proto.

Field violations name fields as the API does: `product.sku` for one product,
`products[3].sku` in a batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from buckles.boltrics.v1 import connector_pb2 as pb
from service.domain.products import (
    ChannelProduct,
    Listing,
    Outcome,
    ProductResult,
    ProductState,
    ProductView,
)
from service.errors import FieldViolation, InvalidArgument

_OUTCOMES = {
    Outcome.CREATED: pb.PRODUCT_OUTCOME_CREATED,
    Outcome.UPDATED: pb.PRODUCT_OUTCOME_UPDATED,
    Outcome.LINKED: pb.PRODUCT_OUTCOME_LINKED,
    Outcome.UNCHANGED: pb.PRODUCT_OUTCOME_UNCHANGED,
    Outcome.REFUSED: pb.PRODUCT_OUTCOME_REFUSED,
}

_STATES = {
    ProductState.PENDING: pb.PRODUCT_STATE_PENDING,
    ProductState.SENT: pb.PRODUCT_STATE_SENT,
    ProductState.CREATED: pb.PRODUCT_STATE_CREATED,
    ProductState.FAILED: pb.PRODUCT_STATE_FAILED,
}


def product_from_proto(product: pb.Product) -> ChannelProduct:
    """The domain's product from the API's."""
    return ChannelProduct(
        product_id=product.product_id,
        source_platform=product.source_platform,
        shop=product.shop,
        sku=product.sku,
        barcodes=tuple(product.barcodes),
        name=product.name,
        weight_kg=product.weight_kg,
    )


def products_from_proto(products: Iterable[pb.Product]) -> list[ChannelProduct]:
    """The domain's products from a SyncProducts request, in request order."""
    return [product_from_proto(product) for product in products]


def result_to_proto(result: ProductResult) -> pb.ProductResult:
    """What happened to one product, for the API."""
    return pb.ProductResult(
        product_id=result.product_id,
        external_no=result.external_no,
        outcome=_OUTCOMES[result.outcome],
        warnings=list(result.warnings),
        violations=[
            pb.ProductViolation(field=v.field, description=v.description)
            for v in result.violations
        ],
        index=result.index,
    )


def sync_response(results: Iterable[ProductResult]) -> pb.SyncProductsResponse:
    """The answer to SyncProducts: every result, and how many were refused."""
    converted = [result_to_proto(result) for result in results]
    refused = sum(1 for r in converted if r.outcome == pb.PRODUCT_OUTCOME_REFUSED)
    return pb.SyncProductsResponse(results=converted, refused=refused)


def view_to_proto(view: ProductView) -> pb.ProductView:
    """A product's identity, for the API."""
    return pb.ProductView(
        external_no=view.external_no,
        description=view.description,
        weight_kg=view.weight_kg,
        barcodes=list(view.barcodes),
        first_listing=_listing(view.first_listing),
        listings=[_listing(listing) for listing in view.listings],
        state=_STATES[view.state],
        last_error=view.last_error,
    )


def view_from_payload(payload: Mapping[str, Any]) -> pb.ProductView:
    """The proto of a PRODUCT_CHANGED event's payload."""
    return view_to_proto(ProductView.model_validate(payload))


def lookup_key(request: pb.GetProductRequest) -> dict[str, str]:
    """`ProductService.get`'s keyword arguments; InvalidArgument without a key."""
    which = request.WhichOneof("key")
    value = getattr(request, which) if which else ""
    if not which or not value.strip():
        raise InvalidArgument([FieldViolation("key", "give external_no or product_id")])
    return {str(which): value}


def _listing(listing: Listing) -> pb.Listing:
    return pb.Listing(
        product_id=listing.product_id,
        source_platform=listing.source_platform,
        shop=listing.shop,
    )
