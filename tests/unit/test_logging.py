"""Log events: JSON lines with context, secrets redacted."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from service.logging import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put back the configuration of before: the one made here writes to the
    captured stderr, which is closed after the test."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


class TestLogging:
    def test_json_event_with_context_and_no_secret(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An event is one JSON line with bound context; a secret key is redacted."""
        configure_logging("info", "json")
        structlog.contextvars.bind_contextvars(account="acme")

        get_logger("t").info("order.accepted", order_id="o1", client_secret="hush")
        structlog.contextvars.clear_contextvars()

        line = json.loads(capsys.readouterr().err.strip())
        assert line["event"] == "order.accepted"
        assert line["account"] == "acme" and line["order_id"] == "o1"
        assert line["client_secret"] == "[redacted]"

    def test_level_filters(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Below the configured level nothing is written."""
        configure_logging("warning", "json")

        get_logger("t").info("quiet.event")

        assert capsys.readouterr().err == ""
