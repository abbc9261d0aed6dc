"""Throughput of a trivial authenticated RPC through the whole server stack.

Compares `GetAccount` on the connector's server (authentication, the error
interceptor, metrics and one JSON log event per call) with the same RPC on a
bare `grpc.aio` server that returns a constant, in the same run. Each server
runs in its own process; this process drives them with the same load, in
alternating rounds, and prints the ratio. Target: at least 0.8.

The connector runs on its default event loop, uvloop, as `serve` runs it; the
bare server on asyncio's own loop, as grpc.aio comes. For a view of the stack's
own cost apart from the loop, the bare servicer on uvloop is measured too and
its ratio printed beside the target's.

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
import uvloop

from buckles.boltrics.v1 import connector_pb2 as pb
from buckles.boltrics.v1 import connector_pb2_grpc as pb_grpc
from service.config import ServerSettings
from service.entrypoints.serve_cli import run_loop

TOKEN = "bench-token"
KINDS = ("bare", "bare-uvloop", "full")
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
    from service.entrypoints.grpc.server import GrpcServer, freeze_startup_heap
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
    freeze_startup_heap()  # as serve_until_signalled does
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
    parser.add_argument("--serve", choices=KINDS)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()

    if args.serve == "bare":
        asyncio.run(_serve_bare(args.workdir / "bare.port"))
        return
    if args.serve == "bare-uvloop":
        uvloop.run(_serve_bare(args.workdir / "bare-uvloop.port"))
        return
    if args.serve == "full":
        event_loop = ServerSettings().event_loop
        run_loop(_serve_full(args.workdir / "full.port", args.workdir), event_loop)
        return

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        children = {kind: _start(kind, workdir) for kind in KINDS}
        rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
        try:
            for _ in range(args.rounds):
                for kind, (_child, port) in children.items():
                    rate = asyncio.run(_drive(port, args.seconds, args.concurrency))
                    rates[kind].append(rate)
        finally:
            for child, _port in children.values():
                child.terminate()
                child.wait(10)

    bare, uv, full = (statistics.median(rates[kind]) for kind in KINDS)
    rounds = f"(median of {args.rounds})"
    print(f"bare grpc.aio server:        {bare:10.0f} calls/s {rounds}")
    print(f"bare grpc.aio on uvloop:     {uv:10.0f} calls/s {rounds}")
    print(f"connector stack (uvloop):    {full:10.0f} calls/s {rounds}")
    print(f"ratio connector/bare:        {full / bare:10.2f}   (target >= 0.80)")
    print(f"ratio connector/bare-uvloop: {full / uv:10.2f}   (same loop)")


if __name__ == "__main__":
    main()
