"""The JSON Schema of shipping rule files, built from the fact catalogue.

`rules/schema.json` is this schema, committed for editors; a test keeps the two
equal. Regenerate with `python -m service.adapters.rules.schema > rules/schema.json`.
"""

from __future__ import annotations

import json
from typing import Any

from service.adapters.rules.validation import GROUPS, MAX_LIST_VALUES
from service.domain.rules.model import FACTS, OPERATOR_SYMBOLS, OPERATORS, Kind, Op

_SCALAR: dict[Kind, dict[str, Any]] = {
    Kind.TEXT: {"type": ["string", "integer"]},
    Kind.POSTCODE: {"type": ["string", "integer"]},
    Kind.WEIGHT: {"type": "number"},
    Kind.MONEY: {"type": "number"},
    Kind.COUNT: {"type": "integer"},
    Kind.SET: {"type": ["string", "integer"]},
    Kind.FLAG: {"type": "boolean"},
}


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_LIST_VALUES}


def _operand(kind: Kind, op: Op) -> dict[str, Any]:
    scalar = _SCALAR[kind]
    if op is Op.BETWEEN:
        number = {"type": "integer"} if kind is Kind.POSTCODE else scalar
        return {**_list_of(number), "minItems": 2, "maxItems": 2}
    if op in (Op.ONE_OF, Op.NOT, Op.ANY, Op.ALL, Op.NONE):
        return {"anyOf": [scalar, _list_of(scalar)]}
    if op is Op.MATCHES:
        return {"type": "string", "format": "regex"}
    return scalar


def _fact(kind: Kind, description: str, example: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for op in OPERATORS[kind]:
        properties[op.value] = _operand(kind, op)
    for symbol, op in OPERATOR_SYMBOLS.items():
        if op in OPERATORS[kind]:
            properties[symbol] = _operand(kind, op)
    operators = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "minProperties": 1,
    }
    shorthand = _operand(kind, Op.ANY if kind is Kind.SET else Op.ONE_OF)
    return {
        "description": f"{description} Example: {example}",
        "anyOf": [shorthand, operators],
    }


def rules_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a `shipping.yaml` file."""
    condition_ref = {"$ref": "#/$defs/condition"}
    condition_properties: dict[str, Any] = {
        name: _fact(spec.kind, spec.description, spec.example)
        for name, spec in FACTS.items()
    }
    condition_properties[GROUPS[0]] = {
        "type": "array",
        "items": condition_ref,
        "minItems": 1,
    }
    condition_properties[GROUPS[1]] = {
        "type": "array",
        "items": condition_ref,
        "minItems": 1,
    }
    condition_properties[GROUPS[2]] = condition_ref
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://buckles.io/schemas/boltrics-connector/shipping-rules.json",
        "title": "Shipping rules",
        "description": "An ordered list of rules; the first rule that matches decides.",
        "type": "object",
        "required": ["rules"],
        "additionalProperties": False,
        "properties": {
            "rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/rule"}}
        },
        "$defs": {
            "rule": {
                "type": "object",
                "required": ["id", "description", "then"],
                "additionalProperties": False,
                "properties": {
                    "id": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$",
                    },
                    "description": {"type": "string", "minLength": 1},
                    "when": condition_ref,
                    "then": {
                        "type": "object",
                        "required": ["method"],
                        "additionalProperties": False,
                        "properties": {"method": {"type": "string", "minLength": 1}},
                    },
                },
            },
            "condition": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": False,
                "properties": condition_properties,
            },
        },
    }


def schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(rules_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
