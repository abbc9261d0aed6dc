"""Structured logging: one event per thing that happened.

Events are static dotted names in the past tense (`order.accepted`) with their
data in keys. Per-call context (account, order id, request id) is bound once in
contextvars. Output is JSON when stderr is not a terminal, readable otherwise.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal

import orjson
import structlog

_SECRET_KEYS = frozenset(
    {"authorization", "token", "secret", "client_secret", "password", "access_token"}
)


def _drop_secrets(
    _logger: Any, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Replace the value of any key that names a secret; a last line of defence."""
    for key in _SECRET_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


class _UtcTimestamp:
    """Adds `timestamp`, ISO 8601 in UTC to the millisecond.

    The date and time of the current second are formatted once per second,
    which matters on the per-call path.
    """

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(
        self, _logger: Any, _method: str, event_dict: structlog.typing.EventDict
    ) -> structlog.typing.EventDict:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        event_dict["timestamp"] = f"{self._prefix}.{int(now % 1 * 1000):03d}Z"
        return event_dict


def configure_logging(
    level: str = "info",
    format: Literal["auto", "json", "console"] = "auto",
) -> None:
    """Configure structlog for the process; safe to call more than once."""
    use_json = format == "json" or (format == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor
    factory: Any
    if use_json:
        # orjson renders bytes, written as they are: the per-call summary event
        # is on the hot path of every RPC.
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory = structlog.BytesLoggerFactory(file=sys.stderr.buffer)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _UtcTimestamp(),
            _drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger that carries its module name as `module`."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(module=name)
    return logger
