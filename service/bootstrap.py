"""The composition root: builds the service from its settings.

Every real adapter is created here and nowhere else; tests build the same
pieces with fakes where a fake is enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from service.adapters.boltrics import BoltricsGateway, GatewayRegistry
from service.adapters.parsing import ParsingPool
from service.adapters.rules import RulesRuntime
from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.orders import SqlOrderStore
from service.adapters.store.request_keys import SqlRequestKeys
from service.config import Account, Settings
from service.entrypoints.grpc.auth import ALL_ACCOUNTS, Authenticator
from service.errors import ConfigurationError
from service.logging import get_logger
from service.services.dispatcher import OrderDispatcher
from service.services.orders import OrderService, ShippingDecider, StatusTranslator
from service.services.products import ProductService
from service.services.retention import Retention
from service.services.shipment_documents import PARSERS_MODULE
from service.services.shipments import ShipmentService
from service.services.shipping import RulesDecider
from service.services.stock import StockService
from service.services.verdicts import VerdictFollower

_log = get_logger(__name__)

BACKGROUND_GRACE_SECONDS = 10.0


@dataclass
class Readiness:
    """Named checks that must all pass for the service to report SERVING."""

    checks: dict[str, Callable[[], bool]] = field(default_factory=dict)

    def failing(self) -> list[str]:
        """The names of the checks that do not pass now."""
        return [name for name, check in self.checks.items() if not check()]


@dataclass
class App:
    """The running service's parts."""

    settings: Settings
    database: Database
    authenticator: Authenticator
    request_keys: SqlRequestKeys
    readiness: Readiness
    gateways: GatewayRegistry
    events: SqlEventLog
    orders: OrderService
    dispatcher: OrderDispatcher
    verdicts: VerdictFollower
    rules: RulesRuntime
    products: ProductService
    shipments: ShipmentService
    stock: StockService
    retention: Retention
    parsers: ParsingPool
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)

    def account(self, account_id: str) -> Account | None:
        """A configured account."""
        return self.settings.account(account_id)

    async def run_background(self, stop: asyncio.Event) -> None:
        """Run the background work until `stop`: sending orders and products,
        following Boltrics' verdicts, removing old events and watching the rule
        files."""
        jobs = [
            self.dispatcher.run(stop),
            self.verdicts.run(stop),
            self.products.run(stop),
            self.shipments.run(stop),
            self.stock.run(stop),
            self.retention.run(stop),
        ]
        if self.settings.rules.watch:
            jobs.append(self.rules.watch(stop))
        tasks = [asyncio.create_task(job) for job in jobs]
        for task in tasks:
            task.add_done_callback(_report_crash)
        await stop.wait()

        # Jobs finish their round and stop; one that waits on Boltrics (a slow
        # call, a rate limit) is cancelled after the grace period, which is safe:
        # every step is committed or repeated harmlessly.
        _, pending = await asyncio.wait(tasks, timeout=BACKGROUND_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def reload_rules(self) -> None:
        """Reload the rule files (on SIGHUP); a bad set leaves the old one running."""
        self.rules.reload()

    async def close(self) -> None:
        """Release everything the app holds."""
        self.parsers.close()
        await self.gateways.aclose()
        await self.database.close()


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error(
            "background.crashed", job=task.get_name(), error=repr(task.exception())
        )


def check_settings(settings: Settings) -> None:
    """Refuse settings the service cannot run with, with one clear sentence."""
    if not settings.callers:
        msg = (
            "setting callers: no caller is configured, "
            "so no call could be authenticated"
        )
        raise ConfigurationError(msg)
    _check_caller_accounts(settings)
    if not any(account.boltrics for account in settings.accounts):
        msg = (
            "setting accounts: no account has a Boltrics connection "
            "(configure accounts[].boltrics, or start with --sandbox for a demo)"
        )
        raise ConfigurationError(msg)
    for account in settings.accounts:
        if account.boltrics is not None:
            account.boltrics.client_secret.resolve(
                f"accounts.{account.id}.boltrics.client_secret"
            )


def _check_caller_accounts(settings: Settings) -> None:
    # Checked here rather than when the settings are read: `serve --sandbox`
    # adds the demo account afterwards, and a caller may be given it.
    configured = {account.id for account in settings.accounts}
    for caller in settings.callers:
        for account_id in caller.accounts:
            if account_id != ALL_ACCOUNTS and account_id not in configured:
                msg = (
                    f"setting callers: caller {caller.name} lists account "
                    f"{account_id}, which is not configured"
                )
                raise ConfigurationError(msg)


async def build_app(
    settings: Settings,
    *,
    decider: ShippingDecider | None = None,
    statuses: StatusTranslator | None = None,
) -> App:
    """Open the store and build every part; bad settings raise ConfigurationError."""
    check_settings(settings)
    authenticator = Authenticator.from_settings(settings.callers)
    database = Database(
        settings.store.url, sqlite_synchronous=settings.store.sqlite_synchronous
    )
    database.claim_serving()
    try:
        rules = RulesRuntime.load(settings.rules)
        await database.open()
    except BaseException:
        await database.close()
        raise
    events = SqlEventLog(database)
    order_store = SqlOrderStore(database, events)
    gateways = GatewayRegistry()

    def gateway_for(account_id: str) -> BoltricsGateway | None:
        account = settings.account(account_id)
        if account is None or account.boltrics is None:
            return None
        return gateways.get(account_id, account.boltrics)

    dispatcher = OrderDispatcher(
        order_store, gateway_for, settings.account, settings.orders
    )
    orders = OrderService(
        order_store,
        decider or RulesDecider(rules),
        statuses or rules,
        wake_dispatcher=dispatcher.wake,
    )
    products = ProductService(
        database, events, gateway_for, settings.account, orders.requeue_waiting
    )
    verdicts = VerdictFollower(
        order_store, gateway_for, poll_seconds=settings.orders.verdict_poll_seconds
    )
    parsers = ParsingPool(settings.parsing.workers, preload=[PARSERS_MODULE])
    shipments = ShipmentService(
        database,
        events,
        order_store,
        gateway_for,
        settings.account,
        accounts=lambda: [a.id for a in settings.accounts if a.boltrics is not None],
        parsers=parsers,
    )
    stock = StockService(
        database,
        events,
        gateway_for,
        settings.account,
        lambda: [a.id for a in settings.accounts],
        full_sync_seconds=settings.stock.full_sync_seconds,
    )
    request_keys = SqlRequestKeys(database)
    return App(
        settings=settings,
        database=database,
        authenticator=authenticator,
        request_keys=request_keys,
        readiness=Readiness(
            {"store": lambda: database.is_open, "rules": lambda: rules.loaded}
        ),
        gateways=gateways,
        events=events,
        orders=orders,
        dispatcher=dispatcher,
        verdicts=verdicts,
        rules=rules,
        products=products,
        shipments=shipments,
        stock=stock,
        retention=Retention(
            events, request_keys, stock.store.position, settings.retention
        ),
        parsers=parsers,
    )
