"""`boltrics-connector health`: ask a running service whether it is SERVING."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def register(subparsers: Any) -> None:
    """Add the `health` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "health", help="check a running service's gRPC health (exit 0 when SERVING)"
    )
    parser.add_argument("--address", default="127.0.0.1:50051", help="host:port")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the status; exit 0 only when SERVING."""
    with grpc.insecure_channel(args.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=args.timeout)
        except grpc.RpcError as exc:
            print(f"unhealthy: {exc.code().name}", file=sys.stderr)
            return 1
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(name)
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1
