"""Run the sandbox inside an asyncio loop: `async with run_sandbox(...) as sandbox`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from service.logging import get_logger
from service.sandbox.control import add_control_routes
from service.sandbox.server import (
    API_ROOT,
    SANDBOX_KEY,
    TOKEN_PATH,
    Sandbox,
    SandboxOptions,
    add_api_routes,
)

logger = get_logger(__name__)

#: Large enough for a bulk stock update of tens of thousands of items.
MAX_REQUEST_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox that is serving: where to reach it, and its state."""

    url: str
    sandbox: Sandbox

    @property
    def base_url(self) -> str:
        """The base URL setting of a connection to this sandbox."""
        return self.url + API_ROOT

    @property
    def token_url(self) -> str:
        """The token URL setting of a connection to this sandbox."""
        return self.url + TOKEN_PATH

    @property
    def control_url(self) -> str:
        """The root of the `/_sandbox/` endpoints."""
        return self.url + "/_sandbox"


def build_app(sandbox: Sandbox) -> web.Application:
    """The aiohttp application of a sandbox."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[SANDBOX_KEY] = sandbox
    add_api_routes(app)
    add_control_routes(app)
    return app


@asynccontextmanager
async def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clients: Mapping[str, str] | None = None,
    rate_limit: float = 20.0,
    process_delay: float = 0.5,
    seed: int = 0,
    state_file: Path | None = None,
) -> AsyncIterator[RunningSandbox]:
    """Serve a sandbox on `host:port` (0: any free port) until the block ends.

    `clients` maps client ids to secrets (default `sandbox: sandbox`); a
    `rate_limit` of 0 or less switches the limit off.
    """
    options = SandboxOptions(
        clients=dict(clients) if clients else {"sandbox": "sandbox"},
        rate_limit=rate_limit,
        process_delay=process_delay,
        seed=seed,
        state_file=state_file,
    )
    sandbox = Sandbox(options)
    runner = web.AppRunner(build_app(sandbox), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    tasks = _background(sandbox, state_file)
    try:
        url = f"http://{host}:{_bound_port(runner)}"
        logger.info(
            "sandbox.started", url=url, clients=sorted(options.clients), seed=seed
        )
        yield RunningSandbox(url=url, sandbox=sandbox)
    finally:
        await _stop(tasks)
        await runner.cleanup()
        if state_file is not None:
            sandbox.save_if_changed(state_file)
        logger.info("sandbox.stopped")


def _background(sandbox: Sandbox, state_file: Path | None) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(sandbox.run_processing(), name="sandbox-processing")]
    if state_file is not None:
        tasks.append(
            asyncio.create_task(sandbox.run_saving(state_file), name="sandbox-save")
        )
    return tasks


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    msg = "the sandbox is not listening on a TCP port"
    raise RuntimeError(msg)
