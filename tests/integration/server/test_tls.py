"""TLS, with client certificates checked against a configured CA."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.support.server import ServerProcess, write_config

TOKEN_A = [("authorization", "Bearer token-for-acme")]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _issue(name: str, ca: str, tmp: Path) -> None:
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        f"/CN={name}",
        cwd=tmp,
    )
    (tmp / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{ca}.pem",
        "-CAkey",
        f"{ca}.key",
        "-CAcreateserial",
        "-out",
        f"{name}.pem",
        "-days",
        "1",
        "-extfile",
        f"{name}.ext",
        cwd=tmp,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate and a client certificate, and a stranger's."""
    tmp = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.pem",
            "-days",
            "1",
            "-subj",
            f"/CN={ca}",
            cwd=tmp,
        )
    _issue("server", "ca", tmp)
    _issue("client", "ca", tmp)
    _issue("stranger", "other-ca", tmp)
    return tmp


@pytest.fixture(scope="module")
def server(pki: Path) -> Iterator[ServerProcess]:
    """The service serving TLS and requiring client certificates from the CA."""
    extra = f"""
[server]
tls_cert_file = "{pki / "server.pem"}"
tls_key_file = "{pki / "server.key"}"
tls_client_ca_file = "{pki / "ca.pem"}"
"""
    config = write_config(pki / "c.toml", f"sqlite+aiosqlite:///{pki / 's.db'}")
    text = config.read_text().replace("[server]\n", extra.lstrip("\n"), 1)
    config.write_text(text)
    process = ServerProcess(["serve", "--config", str(config)])
    yield process
    process.terminate()


def _call(
    server: ServerProcess, pki: Path, client: str | None
) -> pb.GetAccountResponse:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(pki / "ca.pem").read_bytes(),
        private_key=(pki / f"{client}.key").read_bytes() if client else None,
        certificate_chain=(pki / f"{client}.pem").read_bytes() if client else None,
    )
    with grpc.secure_channel(server.address, credentials) as channel:
        stub = pb_grpc.BoltricsConnectorServiceStub(channel)
        request = pb.GetAccountRequest(account_id="acme")
        return stub.GetAccount(request, metadata=TOKEN_A, timeout=10)


class TestTls:
    def test_client_with_a_certificate_from_the_ca_gets_in(
        self, server: ServerProcess, pki: Path
    ) -> None:
        """A client certificate signed by the configured CA is accepted."""
        assert _call(server, pki, "client").account.account_id == "acme"

    @pytest.mark.parametrize("client", [None, "stranger"])
    def test_client_without_a_trusted_certificate_is_refused(
        self, server: ServerProcess, pki: Path, client: str | None
    ) -> None:
        """No client certificate, or one from another CA, fails the handshake."""
        with pytest.raises(grpc.RpcError) as caught:
            _call(server, pki, client)

        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
