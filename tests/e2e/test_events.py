"""WatchEvents over a real socket: cursors, reconnects, account boundaries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.e2e.orders_support import make_order
from tests.support.server import ServerProcess, write_config

TOKEN_A = [("authorization", "Bearer token-for-acme")]
TOKEN_ALL = [("authorization", "Bearer token-for-all")]


@pytest.fixture
def server(tmp_path: Path, sqlite_url: str) -> Iterator[ServerProcess]:
    """A server whose Boltrics is unreachable: orders here are only skipped."""
    process = ServerProcess(
        ["serve", "--config", str(write_config(tmp_path / "c.toml", sqlite_url))]
    )
    process.wait_serving()
    yield process
    process.terminate()


@pytest.fixture
def forgetful_server(tmp_path: Path, sqlite_url: str) -> Iterator[ServerProcess]:
    """A server that keeps events for one second and prunes five times a second."""
    retention = "[retention]\nevents_seconds = 1\nevery_seconds = 0.2\n"
    config = write_config(tmp_path / "c.toml", sqlite_url, extra=retention)
    process = ServerProcess(["serve", "--config", str(config)])
    process.wait_serving()
    yield process
    process.terminate()


def _skip(
    stub: pb_grpc.BoltricsConnectorServiceStub, account: str, order_id: str
) -> None:
    order = make_order(order_id, status=pb.BUCKLES_STATUS_ON_HOLD)
    stub.CreateOrder(
        pb.CreateOrderRequest(account_id=account, order=order), metadata=TOKEN_ALL
    )


def _watch(
    stub: pb_grpc.BoltricsConnectorServiceStub,
    account: str,
    cursor: str,
    seconds: float,
    token: list[tuple[str, str]] = TOKEN_A,
) -> list[pb.Event]:
    request = pb.WatchEventsRequest(account_id=account, after_cursor=cursor)
    seen = []
    stream = stub.WatchEvents(request, metadata=token, timeout=seconds)
    try:
        for answer in stream:
            seen.append(answer.event)
    except grpc.RpcError as exc:
        if exc.code() is not grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
    return seen


class TestWatchEvents:
    def test_reconnect_with_cursor_misses_nothing_and_repeats_nothing(
        self, server: ServerProcess
    ) -> None:
        """Resuming after the third event's cursor gives exactly the events after it."""
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            for i in range(5):
                _skip(stub, "acme", f"e-{i}")

            everything = _watch(stub, "acme", "", 1.0)
            rest = _watch(stub, "acme", everything[2].cursor, 1.0)

        assert [e.order.order.order_id for e in everything] == [
            f"e-{i}" for i in range(5)
        ]
        assert {e.type for e in everything} == {pb.EVENT_TYPE_ORDER_SKIPPED}
        assert [e.cursor for e in rest] == [e.cursor for e in everything[3:]]

    def test_new_events_arrive_on_an_open_stream(self, server: ServerProcess) -> None:
        """An order taken while a subscriber watches reaches it on the open stream."""
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            results: list[list[pb.Event]] = []
            watcher = threading.Thread(
                target=lambda: results.append(_watch(stub, "acme", "", 3.0))
            )
            watcher.start()
            time.sleep(0.5)
            _skip(stub, "acme", "live-1")
            watcher.join()

        (events,) = results
        assert [e.order.order.order_id for e in events] == ["live-1"]
        assert events[0].time.ToDatetime().timestamp() <= time.time()

    def test_a_subscriber_sees_only_its_accounts(self, server: ServerProcess) -> None:
        """With "*", a token for acme sees acme's events and none of globex's."""
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            _skip(stub, "acme", "mine")
            _skip(stub, "globex", "theirs")

            seen_by_a = _watch(stub, "*", "", 1.0)
            seen_by_ops = _watch(stub, "*", "", 1.0, TOKEN_ALL)
            with pytest.raises(grpc.RpcError) as caught:
                _watch(stub, "globex", "", 1.0)

        assert [e.account_id for e in seen_by_a] == ["acme"]
        assert sorted(e.account_id for e in seen_by_ops) == ["acme", "globex"]
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED

    def test_bad_cursor_is_invalid_argument(self, server: ServerProcess) -> None:
        """A cursor this stream never gave is INVALID_ARGUMENT naming after_cursor."""
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                _watch(stub, "acme", "yesterday", 1.0)

        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "after_cursor" in (caught.value.details() or "")


class TestRetention:
    def test_an_expired_cursor_is_out_of_range_naming_the_oldest_kept(
        self, forgetful_server: ServerProcess
    ) -> None:
        """Once old events are removed, resuming from before them is OUT_OF_RANGE
        with reason CURSOR_EXPIRED; the oldest usable cursor still resumes (the
        newest event is never removed)."""
        with grpc.insecure_channel(forgetful_server.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            for i in range(3):
                _skip(stub, "acme", f"old-{i}")
            first, second, last = _watch(stub, "acme", "", 0.5)
            _wait_until_pruned_through(forgetful_server, int(second.cursor))

            with pytest.raises(grpc.RpcError) as caught:
                _watch(stub, "acme", first.cursor, 1.0)
            oldest = _error_info(caught.value).metadata["oldest_cursor"]
            resumed = _watch(stub, "acme", oldest, 0.5)

        assert caught.value.code() is grpc.StatusCode.OUT_OF_RANGE
        assert _error_info(caught.value).reason == "CURSOR_EXPIRED"
        assert int(oldest) == int(second.cursor)
        assert [e.cursor for e in resumed] == [last.cursor]


def _wait_until_pruned_through(server: ServerProcess, cursor: int) -> None:
    """Wait for the server to log that it removed the events up to `cursor`."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pruned = [e for e in list(server.events) if e.get("event") == "events.pruned"]
        if any(int(event["pruned_through"]) >= cursor for event in pruned):
            return
        time.sleep(0.05)
    raise TimeoutError(f"events up to {cursor} were not removed: {server.events}")


def _error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo in the status")
