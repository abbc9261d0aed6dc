"""Reading YAML with the line and column of every node (ruamel.yaml).

Positions are 1-based, as editors show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from service.errors import Problem


class InvalidYaml(Exception):
    """The text is not valid YAML; carries the problem with its place."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def parse_yaml(text: str, file: str) -> Any:
    """The YAML document as ruamel's commented maps and lists, keeping positions."""
    yaml = YAML(typ="rt", pure=True)
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "unreadable"
        problem = Problem(file, line, column, f"not valid YAML: {reason}")
        raise InvalidYaml(problem) from exc
    except YAMLError as exc:
        problem = Problem(file, 1, 1, f"not valid YAML: {exc}")
        raise InvalidYaml(problem) from exc


@dataclass
class Reporter:
    """Collects problems found in one file, placing them at YAML nodes."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def error(self, where: tuple[int, int], message: str) -> None:
        """Record an error at a (line, column)."""
        self.problems.append(Problem(self.file, where[0], where[1], message))

    def warn(self, where: tuple[int, int], message: str) -> None:
        """Record a warning at a (line, column)."""
        self.warnings.append(Problem(self.file, where[0], where[1], message))


def at_node(node: Any, default: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Where a mapping or list starts."""
    if isinstance(node, CommentedMap | CommentedSeq):
        return node.lc.line + 1, node.lc.col + 1
    return default


def at_key(node: Mapping[str, Any], key: str) -> tuple[int, int]:
    """Where a key of a mapping is written."""
    if isinstance(node, CommentedMap):
        line, column = node.lc.key(key)
        return line + 1, column + 1
    return 1, 1


def at_value(node: Mapping[str, Any], key: str) -> tuple[int, int]:
    """Where the value of a key of a mapping is written."""
    if isinstance(node, CommentedMap):
        line, column = node.lc.value(key)
        return line + 1, column + 1
    return 1, 1


def at_item(node: Any, index: int) -> tuple[int, int]:
    """Where an item of a list is written."""
    if isinstance(node, CommentedSeq):
        line, column = node.lc.item(index)
        return line + 1, column + 1
    return at_node(node)


def plain(node: Any) -> Any:
    """The node as plain dicts, lists and scalars (for orders in test cases)."""
    if isinstance(node, Mapping):
        return {str(key): plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(item) for item in node]
    if isinstance(node, bool | int | float | str) or node is None:
        return _scalar(node)
    return str(node)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)
