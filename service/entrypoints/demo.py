"""`serve --sandbox`: the service with a Boltrics sandbox beside it.

The sandbox gets a demo account (`demo`) and a demo caller token
(`demo-token`, for the account `demo` only), so that a first run really
forwards orders, to a warehouse that is clearly not a real one. The demo
warehouse stocks a few items (`DEMO_ITEMS`), so that orders for them go through.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from service.bootstrap import build_app
from service.config import Account, BoltricsConnection, Caller, SecretRef, Settings
from service.entrypoints.grpc.server import serve_until_signalled
from service.logging import get_logger
from service.sandbox.runner import RunningSandbox, run_sandbox

DEMO_ACCOUNT = "demo"
DEMO_COMPANY = "demo-company"
DEMO_ITEMS = ("DEMO-TSHIRT", "DEMO-MUG", "DEMO-POSTER")
DEMO_TOKEN = "demo-token"  # noqa: S105 - a published demo token that only reaches the sandbox
_SECRET_VARIABLE = "CONNECTOR_DEMO_SANDBOX_SECRET"  # noqa: S105 - a variable name
_TOKEN_VARIABLE = "CONNECTOR_DEMO_TOKEN"  # noqa: S105 - a variable name

_log = get_logger(__name__)


async def serve_with_sandbox(settings: Settings, *, sandbox_port: int = 0) -> None:
    """Start a sandbox, add the demo account and caller, then serve."""
    async with run_sandbox(
        port=sandbox_port, clients={"demo": "demo-secret"}, process_delay=0.2
    ) as sandbox:
        warehouse = sandbox.sandbox.companies.get(DEMO_COMPANY)
        for external_no in DEMO_ITEMS:
            warehouse.set_stock(external_no, 100, datetime.now(UTC))
        demo_settings = with_demo_account(settings, sandbox)
        _log.warning(
            "sandbox.demo_ready",
            account=DEMO_ACCOUNT,
            sandbox_url=sandbox.url,
            hint="orders of account demo go to the sandbox, not to a warehouse",
        )
        app = await build_app(demo_settings)
        try:
            await serve_until_signalled(app)
        finally:
            await app.close()


def with_demo_account(settings: Settings, sandbox: RunningSandbox) -> Settings:
    """`settings` plus a `demo` account connected to the sandbox and its caller."""
    os.environ.setdefault(_SECRET_VARIABLE, "demo-secret")
    os.environ.setdefault(_TOKEN_VARIABLE, DEMO_TOKEN)
    connection = BoltricsConnection(
        base_url=sandbox.base_url,
        company_id=DEMO_COMPANY,
        token_url=sandbox.token_url,
        client_id="demo",
        client_secret=SecretRef(env=_SECRET_VARIABLE),
    )
    account = Account(
        id=DEMO_ACCOUNT, name="Demo (Boltrics sandbox)", boltrics=connection
    )
    caller = Caller(
        name="demo", token=SecretRef(env=_TOKEN_VARIABLE), accounts=[DEMO_ACCOUNT]
    )
    accounts = [a for a in settings.accounts if a.id != DEMO_ACCOUNT] + [account]
    callers = [c for c in settings.callers if c.name != "demo"] + [caller]
    return settings.model_copy(update={"accounts": accounts, "callers": callers})
