"""Building orders and driving the service for the order tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc

TOKEN = [("authorization", "Bearer token-for-acme")]


def make_order(
    order_id: str,
    *,
    status: int = pb.BUCKLES_STATUS_PROCESSING,
    sku: str = "SKU-1",
    preference: str = "PostNL standaard",
    postcode: str = "3511AB",
) -> pb.Order:
    """A paid order of one line, to a Dutch address."""
    return pb.Order(
        order_id=order_id,
        order_number=f"#{order_id}",
        source_platform="shopify",
        shop="acme-nl",
        buckles_status=status,  # type: ignore[arg-type]
        paid=True,
        currency="EUR",
        total_amount="25.00",
        delivery_address=pb.Address(
            name="Anna de Vries",
            street_lines=["Oudegracht 1"],
            postcode=postcode,
            city="Utrecht",
            country="NL",
        ),
        lines=[
            pb.OrderLine(
                sku=sku, name="Shirt", quantity=1, unit_price="25.00", weight_kg=0.3
            )
        ],
        shipping_preference=preference,
    )


def create(
    stub: pb_grpc.BoltricsConnectorServiceStub, order: pb.Order
) -> pb.CreateOrderResponse:
    """CreateOrder for account acme."""
    request = pb.CreateOrderRequest(account_id="acme", order=order)
    answer: pb.CreateOrderResponse = stub.CreateOrder(
        request, metadata=TOKEN, timeout=30
    )
    return answer


def create_all(address: str, orders: list[pb.Order], *, workers: int = 16) -> list[Any]:
    """CreateOrder for every order, concurrently; each answer or the error."""
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.BoltricsConnectorServiceStub(channel)

        def one(order: pb.Order) -> Any:
            try:
                return create(stub, order)
            except grpc.RpcError as exc:
                return exc

        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, orders))


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    msg = f"timed out after {timeout} s waiting for {what}"
    raise AssertionError(msg)


def get_order(address: str, order_id: str) -> pb.OrderView:
    """GetOrder for account acme."""
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.BoltricsConnectorServiceStub(channel)
        request = pb.GetOrderRequest(account_id="acme", order_id=order_id)
        return stub.GetOrder(request, metadata=TOKEN, timeout=10).order
