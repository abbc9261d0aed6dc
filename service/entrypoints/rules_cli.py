"""`boltrics-connector rules check|test|explain`: the rule authors' tools."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from service.adapters.rules.durable import DurableShippingRules
from service.adapters.rules.runtime import run_cases
from service.adapters.rules.tree import DEFAULT, RulesTree, load_tree
from service.config import load_settings
from service.domain.rules.facts import OrderFacts, OrderFactsError

DEFAULT_PATH = Path("rules")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add `rules` with its `check`, `test` and `explain` subcommands."""
    rules = subparsers.add_parser(
        "rules", help="check, test and explain shipping rules"
    )
    commands = rules.add_subparsers(dest="rules_command", required=True)

    check = commands.add_parser("check", help="validate every rule file")
    check.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    check.add_argument("--known-method", action="append", default=[], dest="known")
    check.add_argument(
        "--config",
        type=Path,
        help="a TOML config file whose rules.known_methods are known too",
    )
    check.set_defaults(handler=check_command, config=None)

    test = commands.add_parser("test", help="run the authors' test cases")
    test.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    test.set_defaults(handler=test_command)

    explain = commands.add_parser("explain", help="decide one order, with the reasons")
    explain.add_argument("order", type=Path, help="the order as proto3 JSON")
    explain.add_argument("--account", default=DEFAULT)
    explain.add_argument("--rules", type=Path, default=DEFAULT_PATH)
    explain.set_defaults(handler=explain_command)


def check_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Print every problem and warning; exit 1 when there is a problem."""
    known = list(args.known)
    if args.config is not None:
        known += load_settings(args.config).rules.known_methods
    tree = load_tree(args.path, known)
    for problem in tree.problems:
        print(f"{problem}  [error]", file=out)
    for warning in tree.warnings:
        print(f"{warning}  [warning]", file=out)
    rules = sum(len(layer.rules) for layer in tree.layers.values())
    print(
        f"{len(tree.problems)} errors, {len(tree.warnings)} warnings "
        f"in {len(tree.layers)} rule sets with {rules} rules",
        file=out,
    )
    return EXIT_FAILED if tree.problems else EXIT_OK


def test_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run the authors' cases; a table of results, with the explanation of failures."""
    tree = _valid_tree(args.path, out)
    if tree is None:
        return EXIT_FAILED
    results = run_cases(tree, _engine(tree))
    width = max((len(r.case.name) for r in results), default=4)
    print(f"{'RESULT':6}  {'ACCOUNT':10}  {'CASE':{width}}  METHOD (RULE)", file=out)
    for result in results:
        verdict = "pass" if result.passed else "FAIL"
        got = f"{result.decision.method} ({result.decision.rule_id or 'checkout'})"
        print(
            f"{verdict:6}  {result.account:10}  {result.case.name:{width}}  {got}",
            file=out,
        )
    failures = [r for r in results if not r.passed]
    for failure in failures:
        print(f"\n{failure.problem}", file=out)
        print(failure.decision.explanation.text, file=out)
    print(f"\n{len(results) - len(failures)} passed, {len(failures)} failed", file=out)
    return EXIT_FAILED if failures else EXIT_OK


def explain_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Decide one order for an account and print the whole explanation."""
    facts = _read_order(args.order, out)
    tree = _valid_tree(args.rules, out) if facts is not None else None
    if facts is None or tree is None:
        return EXIT_FAILED
    decision = _engine(tree).decide(args.account, facts)
    print(decision.explanation.text, file=out)
    return EXIT_OK


def _valid_tree(path: Path, out: TextIO) -> RulesTree | None:
    tree = load_tree(path)
    for problem in tree.problems:
        print(f"{problem}  [error]", file=out)
    return None if tree.problems else tree


def _engine(tree: RulesTree) -> DurableShippingRules:
    names = [DEFAULT, *tree.accounts]
    return DurableShippingRules({name: tree.ruleset(name) for name in names})


def _read_order(path: Path, out: TextIO) -> OrderFacts | None:
    try:
        order = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"{path}: cannot read the order: {exc}", file=out)
        return None
    if not isinstance(order, dict):
        print(f"{path}: the order must be a JSON object", file=out)
        return None
    try:
        return OrderFacts.from_order_mapping(order)
    except OrderFactsError as exc:
        print(f"{path}: the order is not valid: {exc}", file=out)
        return None
