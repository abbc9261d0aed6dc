"""The service as a subprocess, over a real socket: health, reflection, auth, limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.support.server import ServerProcess, write_config

SERVICE = "buckles.boltrics.v1.BoltricsConnectorService"
TOKEN_A = [("authorization", "Bearer token-for-acme")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One service process on SQLite for the tests of this module."""
    tmp = tmp_path_factory.mktemp("server")
    config = write_config(tmp / "c.toml", f"sqlite+aiosqlite:///{tmp / 's.sqlite3'}")
    process = ServerProcess(["serve", "--config", str(config)])
    process.wait_serving()
    yield process
    process.terminate()


@pytest.fixture
def stub(server: ServerProcess) -> Iterator[pb_grpc.BoltricsConnectorServiceStub]:
    """A client of the connector service."""
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.BoltricsConnectorServiceStub(channel)


def _details(error: grpc.RpcError) -> dict[str, object]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    found: dict[str, object] = {}
    assert status is not None
    for detail in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind.__name__] = message
    return found


class TestHealthAndReflection:
    def test_health_is_serving(self, server: ServerProcess) -> None:
        """Health answers SERVING for the server and for the connector service."""
        with grpc.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            overall = health.Check(health_pb2.HealthCheckRequest(service=""))
            named = health.Check(health_pb2.HealthCheckRequest(service=SERVICE))

        assert overall.status == health_pb2.HealthCheckResponse.SERVING
        assert named.status == health_pb2.HealthCheckResponse.SERVING

    def test_reflection_lists_service_and_all_methods(
        self, server: ServerProcess
    ) -> None:
        """Reflection lists the service and describes every RPC, without a token."""
        with grpc.insecure_channel(server.address) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            requests = [
                reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE),
            ]
            listed, described = list(stub.ServerReflectionInfo(iter(requests)))

        names = {s.name for s in listed.list_services_response.service}
        from google.protobuf import descriptor_pb2

        proto = descriptor_pb2.FileDescriptorProto.FromString(
            described.file_descriptor_response.file_descriptor_proto[0]
        )
        methods = {m.name for m in proto.service[0].method}
        assert {SERVICE, "grpc.health.v1.Health"} <= names
        assert methods == {
            m.name
            for m in pb.DESCRIPTOR.services_by_name["BoltricsConnectorService"].methods
        }
        assert {"CreateOrder", "WatchEvents", "SyncStock", "GetAccount"} <= methods


class TestAuthentication:
    def test_call_without_token_is_unauthenticated(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A call with no authorization metadata is UNAUTHENTICATED."""
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetAccount(pb.GetAccountRequest(account_id="acme"))

        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED

    def test_unknown_token_is_unauthenticated(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A token nobody was given is UNAUTHENTICATED, and its ErrorInfo says so."""
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetAccount(
                pb.GetAccountRequest(account_id="acme"),
                metadata=[("authorization", "Bearer guessed")],
            )

        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert _details(caught.value)["ErrorInfo"].reason == "UNAUTHENTICATED"  # type: ignore[attr-defined]

    def test_token_for_a_acting_for_b_is_permission_denied(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A token for account acme asking about account globex is PERMISSION_DENIED."""
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetAccount(pb.GetAccountRequest(account_id="globex"), metadata=TOKEN_A)

        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "globex" in (caught.value.details() or "")

    def test_token_for_a_reads_account_a(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """The right token gets the account, without its Boltrics secret."""
        answer = stub.GetAccount(
            pb.GetAccountRequest(account_id="acme"), metadata=TOKEN_A
        )

        assert answer.account.account_id == "acme"
        assert answer.account.boltrics_company_id == "company-acme"
        assert "acme-boltrics-secret" not in str(answer)

    def test_wildcard_token_acts_for_any_account(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """A token for "*" may act for every account."""
        answer = stub.GetAccount(
            pb.GetAccountRequest(account_id="globex"),
            metadata=[("authorization", "Bearer token-for-all")],
        )

        assert answer.account.boltrics_configured is False


class TestErrors:
    def test_missing_account_is_invalid_argument_naming_the_field(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """An empty account_id is INVALID_ARGUMENT with a field violation for it."""
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetAccount(pb.GetAccountRequest(), metadata=TOKEN_A)

        bad = _details(caught.value)["BadRequest"]
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in bad.field_violations] == ["account_id"]  # type: ignore[attr-defined]

    def test_unknown_account_read_is_not_found(
        self, stub: pb_grpc.BoltricsConnectorServiceStub
    ) -> None:
        """Reading an account that is not configured is NOT_FOUND."""
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetAccount(
                pb.GetAccountRequest(account_id="nobody"),
                metadata=[("authorization", "Bearer token-for-all")],
            )

        assert caught.value.code() is grpc.StatusCode.NOT_FOUND

    def test_oversized_request_is_resource_exhausted(
        self, stub: pb_grpc.BoltricsConnectorServiceStub, tmp_path: Path
    ) -> None:
        """A request over the size limit is RESOURCE_EXHAUSTED; the server lives on."""
        huge = pb.SyncProductsRequest(
            account_id="acme",
            products=[pb.Product(product_id="p", name="x" * 1_000_000)] * 40,
        )
        with pytest.raises(grpc.RpcError) as caught:
            stub.SyncProducts(huge, metadata=TOKEN_A)

        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert stub.GetAccount(
            pb.GetAccountRequest(account_id="acme"), metadata=TOKEN_A
        )


def test_sigterm_lets_a_slow_call_finish_then_exits_zero(tmp_path: Path) -> None:
    """SIGTERM during a slow call: the call finishes, then the process exits 0."""
    config = write_config(
        tmp_path / "c.toml", f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    )
    slow = ServerProcess(
        ["serve", "--config", str(config)],
        module="tests.integration.server.slow_service",
    )
    answers: list[pb.GetAccountResponse] = []

    def call() -> None:
        with grpc.insecure_channel(slow.address) as channel:
            stub = pb_grpc.BoltricsConnectorServiceStub(channel)
            request = pb.GetAccountRequest(account_id="acme")
            answers.append(stub.GetAccount(request, metadata=TOKEN_A, timeout=15))

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)
    code = slow.terminate()
    caller.join(5)

    assert [a.account.account_id for a in answers] == ["acme"]
    assert code == 0
    assert slow.wait_for_event("server.stopping")["grace_seconds"] == 20
