"""The `boltrics-connector` command line.

Each subcommand lives in its own module with a `register(subparsers)` function
that adds its parser and sets `handler` to a function taking the parsed
arguments and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from service.errors import ConfigurationError, ConnectorError


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    from service.entrypoints import health_cli, serve_cli

    parser = argparse.ArgumentParser(
        prog="boltrics-connector",
        description="Links the Buckles commerce hub to Boltrics 3PL Dynamics.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in (serve_cli, health_cli, *_optional_modules()):
        module.register(subparsers)
    return parser


def _optional_modules() -> list[ModuleType]:
    """Subcommands whose modules are added by later capabilities."""
    modules = []
    for name in (
        "service.sandbox.cli",
        "service.entrypoints.rules_cli",
        "service.entrypoints.orders_cli",
        "service.entrypoints.products_cli",
    ):
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return modules


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code is the return value."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigurationError as exc:
        print(f"boltrics-connector: configuration error: {exc}", file=sys.stderr)
        return 2
    except ConnectorError as exc:
        print(f"boltrics-connector: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
