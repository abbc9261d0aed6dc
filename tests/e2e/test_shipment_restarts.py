"""Shipments end to end through crashes: sandbox, server killed, a subscriber."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import pytest

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.e2e.orders_support import TOKEN, create_all, make_order, wait_until
from tests.support.sandbox import SandboxProcess, connection_toml
from tests.support.server import ServerProcess, write_config

COUNT = 1000
FAULTS = {"errorRate": 0.2, "resetRate": 0.1}


class Subscriber:
    """A WatchEvents subscriber of acme's shipment events.

    It keeps its last cursor and, whenever its stream ends (the server was
    killed, or the stream's two-second deadline passed), connects again to
    whichever server runs now and resumes after that cursor.
    """

    def __init__(self, address: str):
        self.address = address
        self.cursor = ""
        self.seen: list[pb.Event] = []
        self.streams = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def orders(self) -> Counter[str]:
        """How often each order's shipment was seen."""
        return Counter(event.shipment.order_id for event in list(self.seen))

    def stop(self) -> None:
        """Stop after the current stream."""
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow(self.address)
            except grpc.RpcError as exc:
                if exc.code() is not grpc.StatusCode.DEADLINE_EXCEEDED:
                    time.sleep(0.1)

    def _follow(self, address: str) -> None:
        request = pb.WatchEventsRequest(
            account_id="acme",
            after_cursor=self.cursor,
            types=[pb.EVENT_TYPE_ORDER_SHIPPED],
        )
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            self.streams += 1
            for answer in stub.WatchEvents(request, metadata=TOKEN, timeout=2):
                self.seen.append(answer.event)
                self.cursor = answer.event.cursor


class TestShipmentsThroughCrashes:
    @pytest.mark.slow
    def test_each_result_reaches_a_subscriber_once_across_two_kills(
        self, tmp_path: Path, sandbox: SandboxProcess, sqlite_url: str
    ) -> None:
        """1,000 shipments, faults on listing and acknowledging, the server killed
        with SIGKILL twice while it collects: a subscriber that resumes with its
        cursor sees every order's shipment exactly once."""
        config = write_config(
            tmp_path / "c.toml", sqlite_url, connection=connection_toml(sandbox)
        )
        server = ServerProcess(["serve", "--config", str(config)])
        server.wait_serving()
        create_all(server.address, [make_order(f"s-{i}") for i in range(COUNT)])
        wait_until(
            lambda: len(sandbox.shipment_orders()) >= COUNT, 120, "1,000 orders sent"
        )
        server.kill()
        for index in range(COUNT):
            agent = "DHL" if index % 3 == 0 else "POSTNL"
            sandbox.control(
                "POST",
                "/shipments",
                {"externalReference": f"s-{index}", "shippingAgentCode": agent},
            )
        sandbox.set_faults({"list_messages": FAULTS, "patch_message": FAULTS})

        seen_at_kill = []
        server = ServerProcess(["serve", "--config", str(config)])
        subscriber = Subscriber(server.address)
        for threshold in (COUNT // 4, COUNT // 2):
            wait_until(
                lambda n=threshold: len(subscriber.seen) >= n, 120, f"{threshold} seen"
            )
            server.kill()
            seen_at_kill.append(len(subscriber.orders()))
            server = ServerProcess(["serve", "--config", str(config)])
            subscriber.address = server.address
        wait_until(
            lambda: len(subscriber.orders()) >= COUNT, 120, "every shipment seen"
        )
        sandbox.clear_faults()
        wait_until(lambda: not _new_confirmations(sandbox), 60, "every acknowledgement")
        time.sleep(2.5)  # a repeat, if any, would come within a stream or two
        subscriber.stop()
        server.terminate()

        # The second kill may come after the last page on a fast machine; the
        # first, at a quarter, always finds the collection under way.
        assert seen_at_kill[0] < COUNT, "the first kill should cut the collection"
        assert subscriber.streams > 3
        per_order = subscriber.orders()
        assert set(per_order) == {f"s-{i}" for i in range(COUNT)}
        assert set(per_order.values()) == {1}


def _new_confirmations(sandbox: SandboxProcess) -> list[object]:
    """The sendshipment messages not acknowledged yet."""
    query = "/messages?messageType=sendshipment&status=New"
    return list(sandbox.control("GET", query)["value"])
