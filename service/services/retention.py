"""Retention: what happened is kept for a while, then removed.

- Events older than the retention period go. Subscribers resume by cursor, so
  the log cannot shrink under them silently: the store remembers how far it
  removed events, and a cursor before that gets OutOfRange. Events that an
  internal reader (the stock projector) has not read yet stay, however old.
- Request ids older than theirs go with their answers: a repeat after that is
  handled as a new request, and the services' own checks (an order, a
  shipment, a product change is stored once) keep it from doing anything twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from prometheus_client import Counter

from service.adapters.store.events import SqlEventLog
from service.adapters.store.request_keys import SqlRequestKeys
from service.config import RetentionSettings
from service.logging import get_logger
from service.services.orders import utc_now
from service.services.pacing import run_every

_log = get_logger(__name__)

PRUNED = Counter(
    "connector_retention_removed_total",
    "Events and request ids removed because they were too old, by kind.",
    ["kind"],
)


class Retention:
    """Removes old events and request ids every `settings.every_seconds`."""

    def __init__(
        self,
        events: SqlEventLog,
        request_keys: SqlRequestKeys,
        internal_position: Callable[[], Awaitable[int]],
        settings: RetentionSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._events = events
        self._request_keys = request_keys
        self._internal_position = internal_position
        self._settings = settings
        self._clock = clock

    async def prune_once(self) -> tuple[int, int]:
        """Remove what is due now; how many events and request ids went."""
        now = self._clock()
        events_before = now - timedelta(seconds=self._settings.events_seconds)
        keep_after = await self._internal_position()
        events = await self._events.prune(events_before, keep_after=keep_after)
        if events:
            PRUNED.labels("events").inc(events)
            _log.info(
                "events.pruned",
                removed=events,
                pruned_through=await self._events.pruned_through(),
                older_than=events_before.isoformat(),
            )
        keys_before = now - timedelta(seconds=self._settings.request_ids_seconds)
        keys = await self._request_keys.prune(keys_before)
        if keys:
            PRUNED.labels("request_ids").inc(keys)
            _log.info(
                "request_ids.pruned", removed=keys, older_than=keys_before.isoformat()
            )
        return events, keys

    async def run(self, stop: asyncio.Event) -> None:
        """Prune at start and every `every_seconds` until `stop` is set."""
        await run_every(
            stop,
            self._settings.every_seconds,
            self.prune_once,
            "retention.round_failed",
        )
