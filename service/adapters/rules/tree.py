"""Loading the whole rules tree: the default set, each account's set, tests, mappings.

Layout (see rules/README.md)::

    rules/default/shipping.yaml      rules/accounts/<id>/shipping.yaml
    rules/default/tests.yaml         rules/accounts/<id>/tests.yaml
    rules/default/status.yaml        rules/accounts/<id>/status.yaml

An account's rules come first, then the default's; an account's status mapping
entries win over the default's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from service.adapters.rules.validation import read_rules
from service.adapters.rules.yaml_source import (
    InvalidYaml,
    Reporter,
    at_item,
    at_key,
    at_node,
    at_value,
    parse_yaml,
    plain,
)
from service.domain.rules.facts import OrderFacts, OrderFactsError
from service.domain.rules.model import ALWAYS, AllOf, Rule, RuleSet
from service.domain.rules.status import (
    BUCKLES_STATUSES,
    StatusMapping,
    layered,
    status_key,
)
from service.errors import Problem

DEFAULT: Final = "default"
SHIPPING_FILE: Final = "shipping.yaml"
TESTS_FILE: Final = "tests.yaml"
STATUS_FILE: Final = "status.yaml"
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Expectation:
    """What an author expects: a method, and the rule that gives it (or checkout)."""

    method: str
    rule_id: str | None
    from_checkout: bool


@dataclass(frozen=True)
class Case:
    """An author's test: this order gets this method, by this rule."""

    name: str
    facts: OrderFacts
    expect: Expectation
    file: str
    line: int


@dataclass(frozen=True)
class LayerSource:
    """What one folder (default or an account) holds."""

    rules: tuple[Rule, ...]
    cases: tuple[Case, ...]
    status: StatusMapping
    digest: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class RulesTree:
    """A loaded tree: rule sets per account, tests, mappings, problems and warnings."""

    layers: Mapping[str, LayerSource]
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def accounts(self) -> list[str]:
        """The accounts with a folder of their own."""
        return [name for name in self.layers if name != DEFAULT]

    def ruleset(self, account_id: str) -> RuleSet:
        """The account's rules, then the default's (the default's alone if none)."""
        default = self.layers.get(DEFAULT, _EMPTY)
        own = self.layers.get(account_id) if account_id != DEFAULT else None
        if own is None:
            return RuleSet(DEFAULT, default.rules, default.digest, default.files)
        version = _hash(f"{own.digest}:{default.digest}".encode())
        files = (*own.files, *default.files)
        return RuleSet(account_id, (*own.rules, *default.rules), version, files)

    def status(self, account_id: str) -> StatusMapping:
        """The account's status mapping over the default's."""
        default = self.layers.get(DEFAULT, _EMPTY).status
        own = self.layers.get(account_id) if account_id != DEFAULT else None
        if own is None:
            return default
        return layered(own.status, default)


_EMPTY = LayerSource((), (), StatusMapping(), "0" * 12, ())


def load_tree(root: Path, known_methods: Sequence[str] = ()) -> RulesTree:
    """Read and validate every file under `root`; never raises for bad content."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    layers: dict[str, LayerSource] = {}
    if not root.is_dir():
        problems.append(Problem(str(root), 1, 1, "the rules folder does not exist"))
        return RulesTree(layers, tuple(problems), tuple(warnings))

    for name, folder in _folders(root, problems):
        layer, report = _load_layer(folder, known_methods)
        layers[name] = layer
        problems.extend(report.problems)
        warnings.extend(report.warnings)
    if DEFAULT not in layers:
        problems.append(
            Problem(str(root / DEFAULT), 1, 1, "the default folder is missing")
        )
    return RulesTree(layers, tuple(problems), tuple(warnings))


def _folders(root: Path, problems: list[Problem]) -> list[tuple[str, Path]]:
    found = [(DEFAULT, root / DEFAULT)] if (root / DEFAULT).is_dir() else []
    accounts = root / "accounts"
    if accounts.is_dir():
        for folder in sorted(p for p in accounts.iterdir() if p.is_dir()):
            if _ACCOUNT_ID.match(folder.name):
                found.append((folder.name, folder))
            else:
                message = f"{folder.name!r} is not a valid account id"
                problems.append(Problem(str(folder), 1, 1, message))
    return found


def _load_layer(
    folder: Path, known_methods: Sequence[str]
) -> tuple[LayerSource, Reporter]:
    report = Reporter(str(folder))
    texts = _read_texts(folder, report)
    rules = _load_rules(folder / SHIPPING_FILE, texts, known_methods, report)
    cases = _load_cases(folder / TESTS_FILE, texts, report)
    status = _load_status(folder / STATUS_FILE, texts, report)
    digest = _hash(b"".join(f"{n}\0{t}\0".encode() for n, t in sorted(texts.items())))
    files = tuple(str(folder / name) for name in sorted(texts))
    return LayerSource(rules, cases, status, digest, files), report


def _read_texts(folder: Path, report: Reporter) -> dict[str, str]:
    texts = {}
    for name in (SHIPPING_FILE, TESTS_FILE, STATUS_FILE):
        path = folder / name
        if path.is_file():
            try:
                texts[name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                report.problems.append(Problem(str(path), 1, 1, f"cannot read: {exc}"))
    return texts


def _document(path: Path, texts: Mapping[str, str], report: Reporter) -> Any:
    if path.name not in texts:
        return None
    try:
        return parse_yaml(texts[path.name], str(path))
    except InvalidYaml as exc:
        report.problems.append(exc.problem)
        return None


def _load_rules(
    path: Path, texts: Mapping[str, str], known: Sequence[str], report: Reporter
) -> tuple[Rule, ...]:
    document = _document(path, texts, report)
    if document is None:
        return ()
    file_report = Reporter(str(path))
    rules = read_rules(document, file_report)
    warn_about(rules, known, file_report)
    report.problems.extend(file_report.problems)
    report.warnings.extend(file_report.warnings)
    return tuple(rules)


def read_rule_text(
    text: str, file: str, known_methods: Sequence[str] = ()
) -> tuple[list[Rule], Reporter]:
    """Rules from one file's text (a candidate), with its problems and warnings."""
    report = Reporter(file)
    try:
        document = parse_yaml(text, file)
    except InvalidYaml as exc:
        report.problems.append(exc.problem)
        return [], report
    rules = read_rules(document, report)
    warn_about(rules, known_methods, report)
    return rules, report


def warn_about(rules: Sequence[Rule], known: Sequence[str], report: Reporter) -> None:
    """Warn about rules that can never match and methods nobody knows."""
    for index, rule in enumerate(rules):
        shadow = next((r for r in rules[:index] if _covers(r, rule)), None)
        if shadow is not None:
            report.warn(
                (rule.line, 1),
                f"rule {rule.id!r} can never match: rule {shadow.id!r} "
                f"(line {shadow.line}) always matches first",
            )
        if known and rule.outcome.method not in known:
            report.warn(
                (rule.line, 1),
                f"method {rule.outcome.method!r} of rule {rule.id!r} is not a known "
                f"shipping method ({', '.join(known)})",
            )


def _covers(above: Rule, below: Rule) -> bool:
    """Whether every order `below` matches is matched by `above` (a safe subset)."""
    if above.condition == ALWAYS or above.condition == below.condition:
        return True
    wanted = _conjuncts(above)
    return bool(wanted) and wanted <= _conjuncts(below)


def _conjuncts(rule: Rule) -> set[object]:
    condition = rule.condition
    return set(condition.parts) if isinstance(condition, AllOf) else {condition}


def _load_cases(
    path: Path, texts: Mapping[str, str], report: Reporter
) -> tuple[Case, ...]:
    document = _document(path, texts, report)
    if document is None:
        return ()
    file_report = Reporter(str(path))
    cases = _read_cases(document, file_report)
    report.problems.extend(file_report.problems)
    return tuple(cases)


def _read_cases(document: Any, report: Reporter) -> list[Case]:
    items = document.get("cases") if isinstance(document, Mapping) else None
    if not isinstance(items, list):
        report.error(at_node(document), "a test file needs a 'cases' list")
        return []
    if isinstance(document, Mapping):
        for key in document:
            if key != "cases":
                report.error(
                    at_key(document, key), f"unknown field {key!r}; expected: cases"
                )
    cases = [_case(item, at_item(items, i), report) for i, item in enumerate(items)]
    return [case for case in cases if case is not None]


def _case(node: Any, where: tuple[int, int], report: Reporter) -> Case | None:
    if not isinstance(node, Mapping) or set(node) != {"name", "order", "expect"}:
        report.error(where, "a test case needs exactly: name, order, expect")
        return None
    expect = _expectation(node["expect"], at_value(node, "expect"), report)
    try:
        facts = OrderFacts.from_order_mapping(plain(node["order"]))
    except OrderFactsError as exc:
        report.error(at_value(node, "order"), f"the order is not valid: {exc}")
        return None
    if expect is None:
        return None
    return Case(str(node["name"]), facts, expect, report.file, where[0])


def _expectation(
    node: Any, where: tuple[int, int], report: Reporter
) -> Expectation | None:
    allowed = {"method", "rule", "from"}
    if (
        not isinstance(node, Mapping)
        or "method" not in node
        or not set(node) <= allowed
    ):
        report.error(
            where, "'expect' needs 'method' and either 'rule' or 'from: checkout'"
        )
        return None
    from_checkout = node.get("from") == "checkout"
    if "from" in node and not from_checkout:
        report.error(at_value(node, "from"), "'from' can only be 'checkout'")
        return None
    rule_id = node.get("rule")
    return Expectation(
        str(node["method"]), str(rule_id) if rule_id else None, from_checkout
    )


def _load_status(
    path: Path, texts: Mapping[str, str], report: Reporter
) -> StatusMapping:
    document = _document(path, texts, report)
    version = _hash(texts.get(path.name, "").encode())
    if document is None:
        return StatusMapping(version=version)
    file_report = Reporter(str(path))
    channels = _read_status(document, file_report)
    report.problems.extend(file_report.problems)
    return StatusMapping(channels, version)


def _read_status(document: Any, report: Reporter) -> dict[str, dict[str, str]]:
    channels = document.get("channels") if isinstance(document, Mapping) else None
    if not isinstance(channels, Mapping):
        report.error(at_node(document), "a status file needs a 'channels' mapping")
        return {}
    result: dict[str, dict[str, str]] = {}
    for channel, statuses in channels.items():
        if not isinstance(statuses, Mapping) or not statuses:
            report.error(
                at_value(channels, channel), f"channel {channel!r} needs statuses"
            )
            continue
        result[status_key(str(channel))] = _statuses(str(channel), statuses, report)
    return result


def _statuses(
    channel: str, node: Mapping[str, Any], report: Reporter
) -> dict[str, str]:
    mapped: dict[str, str] = {}
    for webshop, buckles in node.items():
        key = status_key(str(webshop))
        if key in mapped:
            report.error(
                at_key(node, webshop),
                f"status {webshop!r} is listed twice for {channel}",
            )
        if buckles not in BUCKLES_STATUSES:
            report.error(
                at_value(node, webshop),
                f"unknown Buckles status {buckles!r}; use one of: "
                f"{', '.join(BUCKLES_STATUSES)}",
            )
            continue
        mapped[key] = str(buckles)
    return mapped


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]
