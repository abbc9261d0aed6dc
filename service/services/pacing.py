"""When background work runs: every round of a loop, and each account's poll.

Polls (verdicts, shipment confirmations, stock messages) share each
connection's rate limit with the orders being sent. While orders queue for
that limit, every poll would take a slot from one of them, so polls then run
`CONGESTED_FACTOR` times less often; otherwise, at every round of their loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from service.adapters.boltrics import BoltricsGateway
from service.logging import get_logger

_log = get_logger(__name__)

CONGESTED_FACTOR = 4.0


class PollPacer:
    """Spaces one loop's polls per account while the account's connection is
    congested; never holds a poll back otherwise."""

    def __init__(
        self, interval: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._spacing = interval * CONGESTED_FACTOR
        self._clock = clock
        self._last: dict[str, float] = {}

    def due(self, account_id: str, gateway: BoltricsGateway) -> bool:
        """Whether to poll the account now; a yes counts as the poll."""
        now = self._clock()
        last = self._last.get(account_id)
        if gateway.congested and last is not None and now - last < self._spacing:
            return False
        self._last[account_id] = now
        return True


async def run_every(
    stop: asyncio.Event,
    seconds: float,
    one_round: Callable[[], Awaitable[object]],
    failed_event: str,
) -> None:
    """Run `one_round` now and every `seconds` after, until `stop` is set.

    A round that raises is logged as `failed_event` and the next one comes as
    usual: a background loop never dies of one bad round.
    """
    while not stop.is_set():
        try:
            await one_round()
        except Exception:
            _log.exception(failed_event)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
