"""The committed JSON Schema is the one the code generates."""

from __future__ import annotations

from pathlib import Path

from service.adapters.rules.schema import schema_text

SCHEMA = Path(__file__).resolve().parents[3] / "rules" / "schema.json"


class TestSchema:
    """rules/schema.json stays in step with the fact catalogue."""

    def test_committed_schema_is_current(self) -> None:
        """The file equals the generated schema; regenerate it when this fails."""
        assert SCHEMA.read_text(encoding="utf-8") == schema_text()
