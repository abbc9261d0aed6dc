"""`boltrics-connector sandbox`: run the Boltrics sandbox on its own."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from service.errors import ConfigurationError
from service.sandbox.runner import run_sandbox


def register(subparsers: Any) -> None:
    """Add the `sandbox` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="run the Boltrics sandbox (an emulated Boltrics for tests and demos)",
        description="Serve the Boltrics sandbox until interrupted.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=handle)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8089, help="port (0: any free port)"
    )
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help="a client id and secret it accepts (repeatable; default sandbox:sandbox)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=20.0,
        help="requests a second per company; 0: off",
    )
    parser.add_argument(
        "--process-delay",
        type=float,
        default=0.5,
        help="seconds before a message is processed",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of ids and injected faults"
    )
    parser.add_argument(
        "--state-file", type=Path, help="keep the state in this JSON file"
    )


def parse_clients(values: list[str]) -> dict[str, str]:
    """`ID:SECRET` pairs as a dict; a malformed one is a configuration error."""
    clients = {}
    for value in values:
        client_id, separator, secret = value.partition(":")
        if not separator or not client_id or not secret:
            msg = f"--client takes ID:SECRET, not {value.split(':')[0]}:..."
            raise ConfigurationError(msg)
        clients[client_id] = secret
    return clients


def handle(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; the exit code is 0."""
    clients = parse_clients(args.client)
    asyncio.run(_serve(args, clients))
    return 0


async def _serve(args: argparse.Namespace, clients: dict[str, str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async with run_sandbox(
        args.host,
        args.port,
        clients=clients or None,
        rate_limit=args.rate_limit,
        process_delay=args.process_delay,
        seed=args.seed,
        state_file=args.state_file,
    ) as running:
        print(f"Boltrics sandbox at {running.url}", flush=True)
        print(f"  base URL  {running.base_url}", flush=True)
        print(f"  token URL {running.token_url}", flush=True)
        await stop.wait()
