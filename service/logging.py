"""Structured logging: one event per thing that happened.

Events are static dotted names in the past tense (`order.accepted`) with their
data in keys. Per-call context (account, order id, request id) is bound once in
contextvars. Output is JSON when stderr is not a terminal, readable otherwise.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

_SECRET_KEYS = frozenset(
    {"authorization", "token", "secret", "client_secret", "password", "access_token"}
)


def _drop_secrets(
    _logger: Any, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Replace the value of any key that names a secret; a last line of defence."""
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(
    level: str = "info",
    format: Literal["auto", "json", "console"] = "auto",
) -> None:
    """Configure structlog for the process; safe to call more than once."""
    use_json = format == "json" or (format == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger that carries its module name as `module`."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(module=name)
    return logger
