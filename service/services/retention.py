"""Event retention: events older than the retention period are removed.

Subscribers resume by cursor, so the log cannot shrink under them silently:
the store remembers how far it removed events, and a cursor before that gets
OutOfRange. Events that an internal reader (the stock projector) has not read
yet are kept, however old.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from prometheus_client import Counter

from service.adapters.store.events import SqlEventLog
from service.logging import get_logger
from service.services.orders import utc_now

_log = get_logger(__name__)

EVENTS_PRUNED = Counter(
    "connector_events_pruned_total", "Events removed because they were too old."
)


class EventRetention:
    """Removes old events every `every_seconds`."""

    def __init__(
        self,
        events: SqlEventLog,
        internal_position: Callable[[], Awaitable[int]],
        *,
        keep_seconds: float,
        every_seconds: float,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._events = events
        self._internal_position = internal_position
        self._keep = timedelta(seconds=keep_seconds)
        self._every = every_seconds
        self._clock = clock

    async def prune_once(self) -> int:
        """Remove what is due now; how many events were removed."""
        before = self._clock() - self._keep
        keep_after = await self._internal_position()
        removed = await self._events.prune(before, keep_after=keep_after)
        if removed:
            EVENTS_PRUNED.inc(removed)
            _log.info(
                "events.pruned",
                removed=removed,
                pruned_through=await self._events.pruned_through(),
                older_than=before.isoformat(),
            )
        return removed

    async def run(self, stop: asyncio.Event) -> None:
        """Prune at start and every `every_seconds` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.prune_once()
            except Exception:
                _log.exception("events.prune_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._every)
