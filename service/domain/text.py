"""Text that the warehouse's XML can carry.

XML 1.0 has no way to write most control characters (a vertical tab pasted
from a word processor, say), so a document holding one cannot be built. Such
text is refused where it comes in, naming the field, rather than failing the
message later, and with it every other order or product the message holds.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from service.errors import FieldViolation

_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def unwritable_text(model: BaseModel, path: str) -> list[FieldViolation]:
    """A violation for each text field of `model` (nested models and lists
    too, under `path`) that holds a character XML cannot carry."""
    if not _holds_unwritable(model):
        return []  # the usual case, found without naming every field
    problems: list[FieldViolation] = []
    for name, value in model:
        problems += _check(value, f"{path}.{name}")
    return problems


def _check(value: object, path: str) -> list[FieldViolation]:
    if isinstance(value, str):
        found = _NOT_IN_XML.search(value)
        if found is None:
            return []
        code = f"U+{ord(found.group()):04X}"
        return [FieldViolation(path, f"holds the control character {code}")]
    if isinstance(value, BaseModel):
        return unwritable_text(value, path)
    if isinstance(value, (list, tuple)):
        return [
            problem
            for index, item in enumerate(value)
            for problem in _check(item, f"{path}[{index}]")
        ]
    return []


def _holds_unwritable(value: object) -> bool:
    search = _NOT_IN_XML.search
    waiting = [value]
    while waiting:
        item = waiting.pop()
        if isinstance(item, str):
            if search(item) is not None:
                return True
        elif isinstance(item, BaseModel):
            waiting.extend(vars(item).values())
        elif isinstance(item, (list, tuple)):
            waiting.extend(item)
    return False
