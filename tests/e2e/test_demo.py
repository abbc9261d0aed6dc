"""`serve --sandbox`: the first command of the README forwards orders for real."""

from __future__ import annotations

from pathlib import Path

import grpc

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.e2e.orders_support import make_order, wait_until
from tests.support.server import ServerProcess

DEMO = [("authorization", "Bearer demo-token")]


def test_demo_mode_forwards_an_order_to_its_sandbox(tmp_path: Path) -> None:
    """With --sandbox and no config at all, a demo order is processed by the sandbox."""
    server = ServerProcess(
        ["serve", "--sandbox", "--listen", "127.0.0.1:0"],
        env={
            "CONNECTOR_STORE__URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
            "CONNECTOR_SERVER__METRICS_LISTEN": "",
        },
    )
    server.wait_serving()
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.BoltricsConnectorServiceStub(channel)
        order = make_order("demo-1", sku="DEMO-TSHIRT")

        answer = stub.CreateOrder(
            pb.CreateOrderRequest(account_id="demo", order=order), metadata=DEMO
        )

        def state() -> int:
            request = pb.GetOrderRequest(account_id="demo", order_id="demo-1")
            return stub.GetOrder(request, metadata=DEMO).order.state

        wait_until(lambda: state() == pb.ORDER_STATE_PROCESSED, 20, "the demo order")
    code = server.terminate()

    assert answer.outcome == pb.CreateOrderResponse.OUTCOME_ACCEPTED
    assert server.wait_for_event("sandbox.demo_ready")["account"] == "demo"
    assert code == 0
