"""Products convert between the API and the domain without loss."""

from __future__ import annotations

import pytest

from buckles.boltrics.v1 import connector_pb2 as pb
from service.domain.products import (
    Listing,
    Outcome,
    ProductResult,
    ProductState,
    ProductView,
)
from service.entrypoints.grpc.products_rpc import (
    lookup_key,
    product_from_proto,
    sync_response,
    view_from_payload,
    view_to_proto,
)
from service.errors import FieldViolation, InvalidArgument


class TestProductsRpc:
    """The pure conversions the servicer calls."""

    def test_a_proto_product_becomes_a_channel_product(self) -> None:
        """Every field of pb.Product arrives in the domain's product."""
        message = pb.Product(
            product_id="p-1",
            source_platform="shopify",
            shop="a",
            sku="S",
            barcodes=["4006381333931"],
            name="Mug",
            weight_kg=0.5,
        )

        product = product_from_proto(message)

        assert product.barcodes == ("4006381333931",)
        assert (product.sku, product.weight_kg, product.shop) == ("S", 0.5, "a")

    def test_a_sync_response_counts_the_refused(self) -> None:
        """Refused results keep their violations, paths and index."""
        results = [
            ProductResult(product_id="p-1", external_no="S", outcome=Outcome.CREATED),
            ProductResult(
                product_id="",
                outcome=Outcome.REFUSED,
                violations=(FieldViolation("products[1].product_id", "is required"),),
                index=1,
            ),
        ]

        response = sync_response(results)

        assert response.refused == 1
        assert response.results[1].violations[0].field == "products[1].product_id"
        assert response.results[1].index == 1

    def test_an_event_payload_becomes_a_product_view(self) -> None:
        """A PRODUCT_CHANGED payload converts like the view it was made from."""
        first = Listing(product_id="p-1", source_platform="shopify", shop="a")
        view = ProductView(
            external_no="S",
            description="Mug",
            weight_kg=0.5,
            barcodes=("1",),
            first_listing=first,
            listings=(first,),
            state=ProductState.CREATED,
        )

        assert view_from_payload(view.model_dump(mode="json")) == view_to_proto(view)
        assert view_to_proto(view).state == pb.PRODUCT_STATE_CREATED

    def test_get_product_needs_a_key(self) -> None:
        """A GetProduct request without a key is an invalid argument."""
        assert lookup_key(pb.GetProductRequest(external_no="S")) == {"external_no": "S"}
        with pytest.raises(InvalidArgument):
            lookup_key(pb.GetProductRequest(account_id="acme"))
