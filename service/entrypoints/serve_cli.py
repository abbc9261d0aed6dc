"""`boltrics-connector serve`: run the service."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvloop

from service.bootstrap import build_app
from service.config import Settings, load_settings
from service.entrypoints.grpc.server import serve_until_signalled
from service.logging import configure_logging, get_logger

_log = get_logger(__name__)


def register(subparsers: Any) -> None:
    """Add the `serve` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run the gRPC service"
    )
    parser.add_argument("--config", type=Path, help="a TOML config file")
    parser.add_argument("--listen", help="host:port to listen on (overrides settings)")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="start the Boltrics sandbox beside the service, with a demo account",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the settings, then serve until a signal arrives."""
    settings = load_settings(args.config)
    if args.listen:
        server = settings.server.model_copy(update={"listen": args.listen})
        settings = settings.model_copy(update={"server": server})
    configure_logging(settings.log.level, settings.log.format)

    run_loop(_serve(settings, sandbox=args.sandbox), settings.server.event_loop)
    return 0


def run_loop(main: Coroutine[Any, Any, None], event_loop: str) -> None:
    """Run `main` on the configured event loop.

    uvloop is the default: the same server spends about a sixth less CPU time
    per trivial call on it than on asyncio's own loop (bench/grpc_overhead.py).
    `asyncio` is there for debugging and for platforms without uvloop.
    """
    if event_loop == "uvloop":
        uvloop.run(main)
    else:
        asyncio.run(main)


async def _serve(settings: Settings, *, sandbox: bool) -> None:
    if sandbox:
        from service.entrypoints.demo import serve_with_sandbox

        await serve_with_sandbox(settings)
        return

    app = await build_app(settings)
    try:
        await serve_until_signalled(app)
    finally:
        await app.close()
