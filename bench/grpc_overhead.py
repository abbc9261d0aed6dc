"""Throughput of a trivial authenticated RPC through the whole server stack.

Compares `GetAccount` on the connector's server (authentication, the error
interceptor, metrics and one JSON log event per call) with the same RPC on a
bare `grpc.aio` server that returns a constant, in the same run. Each server
runs in its own process; this process drives both with the same load, in
alternating rounds, and prints the ratio. Target: at least 0.8.

    python bench/grpc_overhead.py [--seconds 3] [--rounds 3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc

TOKEN = "bench-token"
REPO = Path(__file__).resolve().parents[1]


async def _serve_bare(port_file: Path) -> None:
    class Bare(pb_grpc.BoltricsConnectorServiceServicer):
        async def GetAccount(
            self, request: pb.GetAccountRequest, context: object
        ) -> pb.GetAccountResponse:
            return pb.GetAccountResponse(
                account=pb.Account(account_id=request.account_id)
            )

    server = grpc.aio.server()
    pb_grpc.add_BoltricsConnectorServiceServicer_to_server(Bare(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    port_file.write_text(str(port))
    await server.wait_for_termination()


async def _serve_full(port_file: Path, workdir: Path) -> None:
    from service.bootstrap import build_app
    from service.config import load_settings
    from service.entrypoints.grpc.server import GrpcServer
    from service.logging import configure_logging

    config = workdir / "bench.toml"
    config.write_text(
        f"""
[server]
listen = "127.0.0.1:0"
[store]
url = "sqlite+aiosqlite:///{workdir / "bench.sqlite3"}"
[[callers]]
name = "bench"
token = {{ env = "BENCH_TOKEN" }}
accounts = ["acme"]
[[accounts]]
id = "acme"
[accounts.boltrics]
base_url = "http://127.0.0.1:9/api"
company_id = "c"
token_url = "http://127.0.0.1:9/token"
client_id = "c"
client_secret = {{ env = "BENCH_TOKEN" }}
"""
    )
    os.environ["BENCH_TOKEN"] = TOKEN
    configure_logging("info", "json")
    app = await build_app(load_settings(config))
    server = GrpcServer(app)
    port = await server.start()
    port_file.write_text(str(port))
    await server.wait()


async def _drive(port: int, seconds: float, concurrency: int) -> float:
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    request = pb.GetAccountRequest(account_id="acme")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.BoltricsConnectorServiceStub(channel)
        await stub.GetAccount(request, metadata=metadata)
        done = 0
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                await stub.GetAccount(request, metadata=metadata)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def _start(kind: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = workdir / f"{kind}.port"
    port_file.unlink(missing_ok=True)
    log = open(workdir / f"{kind}.log", "wb")  # noqa: SIM115 - lives as long as the child
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--workdir", str(workdir)],
        cwd=REPO,
        stderr=log,
        stdout=log,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or child.poll() is not None:
            raise RuntimeError(f"{kind} server did not start; see {workdir}/{kind}.log")
        time.sleep(0.05)
    return child, int(port_file.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--serve", choices=["bare", "full"])
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()

    if args.serve == "bare":
        asyncio.run(_serve_bare(args.workdir / "bare.port"))
        return
    if args.serve == "full":
        asyncio.run(_serve_full(args.workdir / "full.port", args.workdir))
        return

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        children = {kind: _start(kind, workdir) for kind in ("bare", "full")}
        rates: dict[str, list[float]] = {"bare": [], "full": []}
        try:
            for _ in range(args.rounds):
                for kind, (_child, port) in children.items():
                    rate = asyncio.run(_drive(port, args.seconds, args.concurrency))
                    rates[kind].append(rate)
        finally:
            for child, _port in children.values():
                child.terminate()
                child.wait(10)

    bare = statistics.median(rates["bare"])
    full = statistics.median(rates["full"])
    print(f"bare grpc.aio server: {bare:10.0f} calls/s (median of {args.rounds})")
    print(f"connector stack:      {full:10.0f} calls/s (median of {args.rounds})")
    print(f"ratio connector/bare: {full / bare:10.2f}   (target >= 0.80)")


if __name__ == "__main__":
    main()
