"""TLS, with client certificates checked against a configured CA."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from tests.support.server import REPO, ServerProcess, write_config

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


def _start_tls_server(pki: Path, name: str, *, client_ca: bool) -> ServerProcess:
    """The service serving TLS with the CA's server certificate, requiring
    client certificates from the CA when `client_ca`."""
    extra = f"""
[server]
tls_cert_file = "{pki / "server.pem"}"
tls_key_file = "{pki / "server.key"}"
"""
    if client_ca:
        extra += f'tls_client_ca_file = "{pki / "ca.pem"}"\n'
    store = f"sqlite+aiosqlite:///{pki / f'{name}.db'}"
    config = write_config(pki / f"{name}.toml", store)
    text = config.read_text().replace("[server]\n", extra.lstrip("\n"), 1)
    config.write_text(text)
    return ServerProcess(["serve", "--config", str(config)])


@pytest.fixture(scope="module")
def server(pki: Path) -> Iterator[ServerProcess]:
    """The service serving TLS and requiring client certificates from the CA."""
    process = _start_tls_server(pki, "mutual", client_ca=True)
    yield process
    process.terminate()


@pytest.fixture(scope="module")
def tls_only_server(pki: Path) -> Iterator[ServerProcess]:
    """The service serving TLS to any client."""
    process = _start_tls_server(pki, "tls-only", client_ca=False)
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


def _health(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`boltrics-connector health` against `server`, with `args`."""
    return subprocess.run(
        [sys.executable, "-m", "service", "health", "--address", server.address, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestHealthCommand:
    """`boltrics-connector health` checks a service that serves TLS."""

    def test_trusting_the_ca_checks_a_tls_server(
        self, tls_only_server: ServerProcess, pki: Path
    ) -> None:
        """--tls with --ca-file gets SERVING from a TLS server."""
        done = _health(tls_only_server, "--tls", "--ca-file", str(pki / "ca.pem"))

        assert (done.returncode, done.stdout.strip()) == (0, "SERVING")

    def test_plaintext_check_of_a_tls_server_is_unhealthy(
        self, tls_only_server: ServerProcess
    ) -> None:
        """Without --tls the check cannot reach a TLS server and exits 1."""
        done = _health(tls_only_server, "--timeout", "2")

        assert done.returncode == 1
        assert done.stderr.strip() == "unhealthy: UNAVAILABLE"

    def test_server_name_overrides_the_name_checked(
        self, tls_only_server: ServerProcess, pki: Path
    ) -> None:
        """--server-name is what the certificate must name: one it names passes,
        another fails the handshake."""
        ca = str(pki / "ca.pem")

        named = _health(tls_only_server, "--ca-file", ca, "--server-name", "localhost")
        other = _health(
            tls_only_server, "--ca-file", ca, "--server-name", "other.example"
        )

        assert (named.returncode, named.stdout.strip()) == (0, "SERVING")
        assert other.returncode == 1

    def test_client_certificate_checks_a_mutual_tls_server(
        self, server: ServerProcess, pki: Path
    ) -> None:
        """--cert-file and --key-file from the CA get SERVING where client
        certificates are required; without them the handshake fails."""
        ca = str(pki / "ca.pem")

        with_cert = _health(
            server,
            "--ca-file",
            ca,
            "--cert-file",
            str(pki / "client.pem"),
            "--key-file",
            str(pki / "client.key"),
        )
        without = _health(server, "--tls", "--ca-file", ca, "--timeout", "2")

        assert (with_cert.returncode, with_cert.stdout.strip()) == (0, "SERVING")
        assert (without.returncode, without.stderr.strip()) == (
            1,
            "unhealthy: UNAVAILABLE",
        )

    def test_certificate_without_key_is_refused(
        self, server: ServerProcess, pki: Path
    ) -> None:
        """--cert-file without --key-file is refused with exit 2, before any call."""
        done = _health(server, "--cert-file", str(pki / "client.pem"))

        assert done.returncode == 2
        assert done.stderr.strip() == (
            "boltrics-connector: configuration error: "
            "--cert-file and --key-file go together"
        )
