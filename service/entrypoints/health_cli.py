"""`boltrics-connector health`: ask a running service whether it is SERVING.

Over plaintext by default; `--tls` (or any other TLS option) checks a service
that serves TLS (`server.tls_cert_file`), and `--cert-file` with `--key-file`
one that also requires client certificates (`server.tls_client_ca_file`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.errors import ConfigurationError


def register(subparsers: Any) -> None:
    """Add the `health` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "health", help="check a running service's gRPC health (exit 0 when SERVING)"
    )
    parser.add_argument("--address", default="127.0.0.1:50051", help="host:port")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="connect over TLS (implied by the options below)",
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        help="PEM file of the CA that signed the server's certificate "
        "(default: the system's trusted CAs)",
    )
    parser.add_argument(
        "--cert-file",
        type=Path,
        help="PEM client certificate, for a server that requires one",
    )
    parser.add_argument("--key-file", type=Path, help="PEM private key of --cert-file")
    parser.add_argument(
        "--server-name",
        help="the name to verify the server's certificate against, when it "
        "does not name the host of --address",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the status; exit 0 only when SERVING."""
    with _channel(args) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=args.timeout)
        except grpc.RpcError as exc:
            print(f"unhealthy: {exc.code().name}", file=sys.stderr)
            return 1
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(name)
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1


def _channel(args: argparse.Namespace) -> grpc.Channel:
    """A plaintext channel, or a TLS one when any TLS option is given."""
    if (args.cert_file is None) != (args.key_file is None):
        msg = "--cert-file and --key-file go together"
        raise ConfigurationError(msg)
    uses_tls = args.tls or args.ca_file or args.cert_file or args.server_name
    if not uses_tls:
        return grpc.insecure_channel(args.address)

    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(args.ca_file, "--ca-file"),
        private_key=_read(args.key_file, "--key-file"),
        certificate_chain=_read(args.cert_file, "--cert-file"),
    )
    options = []
    if args.server_name:
        options.append(("grpc.ssl_target_name_override", args.server_name))
    return grpc.secure_channel(args.address, credentials, options=options)


def _read(path: Path | None, option: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        msg = f"{option}: cannot read {path} ({exc.strerror})"
        raise ConfigurationError(msg) from exc
