"""A rate limiter shared by everything that uses one Boltrics connection.

It schedules calls like a token bucket (the "virtual scheduling" form of the
generic cell rate algorithm): each call reserves the next free slot at once and
sleeps until it comes, so waiting callers are served in order and a slot is
never handed out twice. In any window of `t` seconds at most
`burst + rate * t` calls pass.

A rate of zero or less switches the limiter off (every call passes at once);
that is meant for tests and benchmarks against a sandbox without a limit. The
settings of a real connection do not allow it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from service.adapters.boltrics.errors import BoltricsDeadlineExceeded


class Clock(Protocol):
    """A monotonic time source that can also wait; tests pass a fake one."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this many seconds on the same scale."""
        ...


class MonotonicClock:
    """The real clock: `time.monotonic` and `asyncio.sleep`."""

    def now(self) -> float:
        """Seconds of `time.monotonic()`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait with `asyncio.sleep`."""
        await asyncio.sleep(seconds)


class RateLimiter:
    """Lets at most `rate` calls a second pass, with bursts of at most `burst`."""

    def __init__(
        self, rate: float, *, burst: float = 1.0, clock: Clock | None = None
    ) -> None:
        self.rate = rate
        self.clock: Clock = clock or MonotonicClock()
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._tolerance = max(burst - 1.0, 0.0) * self._interval
        self._theoretical_arrival = 0.0

    @property
    def enabled(self) -> bool:
        """False when the rate is zero or less and every call passes at once."""
        return self.rate > 0

    def queued(self) -> float:
        """How many calls' worth of slots are taken ahead of now (0 when a call
        would pass at once)."""
        if not self.enabled:
            return 0.0
        ahead = self._theoretical_arrival - self._tolerance - self.clock.now()
        return max(0.0, ahead) / self._interval

    async def acquire(self, *, deadline: float | None = None) -> None:
        """Wait for a slot; BoltricsDeadlineExceeded if it comes after `deadline`."""
        if not self.enabled:
            return

        now = self.clock.now()
        arrival = max(self._theoretical_arrival, now)
        allowed_at = arrival - self._tolerance
        if deadline is not None and allowed_at > deadline:
            msg = "the deadline passes before the rate limit allows another call"
            raise BoltricsDeadlineExceeded(msg)

        self._theoretical_arrival = arrival + self._interval
        if allowed_at > now:
            await self.clock.sleep(allowed_at - now)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (after a 429 with Retry-After)."""
        if not self.enabled or seconds <= 0:
            return
        resume_at = self.clock.now() + seconds + self._tolerance
        self._theoretical_arrival = max(self._theoretical_arrival, resume_at)
