"""`boltrics-connector orders ...`: operator commands on orders."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.orders import SqlOrderStore
from service.config import load_settings
from service.services.orders import OrderService
from service.services.shipping import CheckoutDecider, NoStatusMappings


def register(subparsers: Any) -> None:
    """Add the `orders` subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "orders", help="operator commands on orders"
    )
    commands = parser.add_subparsers(dest="orders_command", required=True)

    retry = commands.add_parser(
        "retry", help="send a failed or dead order to Boltrics again"
    )
    retry.add_argument("order_id", help="the Buckles order id")
    retry.add_argument("--account", required=True, help="the account id")
    retry.add_argument("--config", type=Path, help="a TOML config file")
    retry.set_defaults(handler=run_retry)

    show = commands.add_parser("show", help="print an order's state and timeline")
    show.add_argument("order_id", help="the Buckles order id")
    show.add_argument("--account", required=True, help="the account id")
    show.add_argument("--config", type=Path, help="a TOML config file")
    show.set_defaults(handler=run_show)


def run_retry(args: argparse.Namespace) -> int:
    """Queue the order again; a running service sends it within a second."""
    return asyncio.run(_retry(args))


def run_show(args: argparse.Namespace) -> int:
    """Print the order's state, last error and timeline."""
    return asyncio.run(_show(args))


async def _service(args: argparse.Namespace) -> tuple[OrderService, Database]:
    settings = load_settings(args.config)
    database = Database(settings.store.url)
    await database.open()
    store = SqlOrderStore(database, SqlEventLog(database))
    return OrderService(store, CheckoutDecider(), NoStatusMappings()), database


async def _retry(args: argparse.Namespace) -> int:
    service, database = await _service(args)
    try:
        record, requeued = await service.retry(args.account, args.order_id)
    finally:
        await database.close()
    if requeued:
        print(f"order {args.order_id} is queued for Boltrics again")
    else:
        print(f"order {args.order_id} is {record.state.value}; nothing to retry")
    return 0


async def _show(args: argparse.Namespace) -> int:
    service, database = await _service(args)
    try:
        record, timeline = await service.get(args.account, args.order_id)
    finally:
        await database.close()
    print(f"order {args.order_id}: {record.state.value}")
    if record.last_error:
        print(f"last error: {record.last_error}")
    for entry in timeline:
        print(
            f"  {entry.time:%Y-%m-%d %H:%M:%S}  {entry.kind.value:<14} {entry.message}"
        )
    return 0
