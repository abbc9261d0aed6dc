"""Benchmark: the Boltrics client against the sandbox, and the sandbox itself.

Starts the sandbox in its own process (rate limit off), then in this process
posts messages through `HttpxBoltricsGateway.submit` and through bare httpx
with the same bodies, and prints requests a second of each and their ratio
(target: at least 0.7). Last, a separate process posts with aiohttp as fast as
it can, which measures the sandbox's message POSTs a second on its one core
(target: at least 2,000).

    .venv/bin/python bench/boltrics_client.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.adapters.boltrics import (
    HttpxBoltricsGateway,
    RateLimiter,
)
from service.adapters.boltrics import documents as doc
from service.config import BoltricsConnection, SecretRef
from service.logging import configure_logging

CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret"
XML = b'<?xml version="1.0"?><Message xmlns="www.boltrics.nl/receiveshipment:v1.00"/>'


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    """The sandbox in its own process, rate limit off."""
    command = [
        sys.executable, "-m", "service.sandbox", "--port", str(port),
        "--rate-limit", "0", "--process-delay", "0.2",
        "--client", f"{CLIENT_ID}:{CLIENT_SECRET}",
    ]  # fmt: skip
    root = Path(__file__).resolve().parent.parent
    return subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL)


async def wait_until_up(url: str) -> None:
    """Poll the sandbox's health endpoint until it answers."""
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            try:
                if (await http.get(url + "/_sandbox/health")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit("the sandbox did not start")


async def fetch_token(url: str) -> str:
    """One bearer token for bare httpx and aiohttp."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            url + "/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        token: str = response.json()["access_token"]
        return token


async def timed(
    requests: int, concurrency: int, post: Callable[[int], Awaitable[None]]
) -> float:
    """Requests a second of `post(i)` for i below `requests`, `concurrency` at once."""
    numbers = iter(range(requests))

    async def worker() -> None:
        for number in numbers:
            await post(number)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


def body(number: int) -> dict[str, str]:
    """The JSON of one message POST."""
    return {
        doc.FIELD_MESSAGE_TYPE: doc.MessageType.RECEIVE_SHIPMENT,
        doc.FIELD_EXTERNAL_REFERENCE: f"bench-{number}",
        doc.FIELD_CONTENT: doc.encode_content(XML),
    }


async def bare_httpx(url: str, token: str, requests: int, concurrency: int) -> float:
    """Requests a second of message POSTs through bare httpx."""
    api = doc.company_url(url + "/api/boltrics/di/v1.0", str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits) as http:

        async def post(number: int) -> None:
            response = await http.post(
                api + doc.MESSAGES_PATH, json=body(number), headers=headers
            )
            response.raise_for_status()
            response.json()

        return await timed(requests, concurrency, post)


async def through_client(url: str, requests: int, concurrency: int) -> float:
    """Requests a second of `HttpxBoltricsGateway.submit`."""
    connection = BoltricsConnection(
        base_url=url + "/api/boltrics/di/v1.0",
        company_id=str(uuid.uuid4()),
        token_url=url + "/oauth2/v2.0/token",
        client_id=CLIENT_ID,
        client_secret=SecretRef(env="UNUSED"),
    )
    gateway = HttpxBoltricsGateway(
        connection,
        account="bench",
        secret=SecretStr(CLIENT_SECRET),
        limiter=RateLimiter(0),
    )
    try:

        async def post(number: int) -> None:
            await gateway.submit(
                doc.MessageType.RECEIVE_SHIPMENT, f"bench-{number}", XML
            )

        return await timed(requests, concurrency, post)
    finally:
        await gateway.aclose()


def sandbox_posts(url: str, token: str, requests: int, concurrency: int) -> float:
    """Message POSTs a second the sandbox takes from a fast aiohttp client."""

    async def run() -> float:
        api = doc.company_url(url + "/api/boltrics/di/v1.0", str(uuid.uuid4()))
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

            async def post(number: int) -> None:
                async with http.post(
                    api + doc.MESSAGES_PATH, json=body(number)
                ) as response:
                    response.raise_for_status()
                    await response.read()

            return await timed(requests, concurrency, post)

    return asyncio.run(run())


async def compare(url: str, requests: int, concurrency: int, rounds: int) -> None:
    """Alternate bare httpx and the client; print the best of each and their ratio."""
    token = await fetch_token(url)
    await bare_httpx(url, token, requests // 4, concurrency)  # warm up both sides
    bare, client = [], []
    for _ in range(rounds):
        bare.append(await bare_httpx(url, token, requests, concurrency))
        client.append(await through_client(url, requests, concurrency))

    print(f"bare httpx       {max(bare):8.0f} requests/s (best of {rounds})")
    print(f"through client   {max(client):8.0f} requests/s (best of {rounds})")
    print(f"client / httpx   {max(client) / max(bare):8.2f}   (target >= 0.70)")

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        rate = pool.apply(sandbox_posts, (url, token, requests * 2, 64))
    print(f"sandbox POSTs    {rate:8.0f} /s, one core (target >= 2000)")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging("warning")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox(port)
    try:
        asyncio.run(wait_until_up(url))
        print(f"sandbox pid {sandbox.pid} at {url}; this process {os.getpid()}")
        asyncio.run(compare(url, args.requests, args.concurrency, args.rounds))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
