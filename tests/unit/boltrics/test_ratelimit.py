"""The rate limiter, driven by a fake clock."""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.adapters.boltrics import BoltricsDeadlineExceeded, RateLimiter


class FakeClock:
    """A clock whose time moves only when the test advances it."""

    def __init__(self) -> None:
        self.time = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The fake time."""
        return self.time

    async def sleep(self, seconds: float) -> None:
        """Wait until the test advances the clock past `seconds` from now."""
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.time + seconds, next(self._order), wake))
        await wake

    async def run_until_idle(self) -> None:
        """Let tasks run, waking sleepers in time order, until none is left."""
        while True:
            for _ in range(5):
                await asyncio.sleep(0)
            if not self._sleepers:
                return
            when, _, wake = heapq.heappop(self._sleepers)
            self.time = max(self.time, when)
            wake.set_result(None)


def most_in_window(times: list[float], window: float) -> int:
    """The largest number of times that fall within any half-open window."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window - 1e-9:  # float rounding
            start += 1
        most = max(most, end - start + 1)
    return most


async def grant_times(
    limiter: RateLimiter, clock: FakeClock, arrivals: list[float]
) -> list[float]:
    """Start one acquire per arrival time; return the fake time each was granted."""
    granted: list[float] = []

    async def caller(arrival: float) -> None:
        await clock.sleep(arrival)
        await limiter.acquire()
        granted.append(clock.now())

    tasks = [asyncio.create_task(caller(arrival)) for arrival in arrivals]
    await clock.run_until_idle()
    await asyncio.gather(*tasks)
    return granted


class TestRateLimiter:
    """At most `burst + rate * t` calls pass in any `t` seconds."""

    @settings(max_examples=40, deadline=None)
    @given(
        rate=st.sampled_from([1.0, 5.0, 20.0, 50.0]),
        burst=st.sampled_from([1.0, 3.0]),
        arrivals=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=60),
    )
    def test_never_exceeds_its_rate(
        self, rate: float, burst: float, arrivals: list[float]
    ) -> None:
        """However calls arrive, no one-second window holds more than burst + rate."""
        clock = FakeClock()
        limiter = RateLimiter(rate, burst=burst, clock=clock)

        granted = asyncio.run(grant_times(limiter, clock, arrivals))

        assert len(granted) == len(arrivals)
        assert most_in_window(granted, 1.0) <= burst + rate
        assert most_in_window(granted, 1.0 / rate) <= burst

    async def test_a_burst_is_spread_at_the_rate(self) -> None:
        """Ten calls at once at 20/s are granted 50 ms apart."""
        clock = FakeClock()
        limiter = RateLimiter(20, clock=clock)

        granted = await grant_times(limiter, clock, [0.0] * 10)

        assert granted == pytest.approx([n * 0.05 for n in range(10)])

    async def test_zero_rate_is_off(self) -> None:
        """A rate of zero lets every call through at once."""
        clock = FakeClock()
        limiter = RateLimiter(0, clock=clock)

        granted = await grant_times(limiter, clock, [0.0] * 100)

        assert set(granted) == {0.0}

    async def test_slot_after_deadline_raises(self) -> None:
        """A call whose slot comes after its deadline fails at once."""
        clock = FakeClock()
        limiter = RateLimiter(1, clock=clock)
        await limiter.acquire()

        with pytest.raises(BoltricsDeadlineExceeded):
            await limiter.acquire(deadline=0.5)

    async def test_pause_holds_every_caller_back(self) -> None:
        """After pause(2), the next call is granted two seconds later."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)

        limiter.pause(2.0)
        granted = await grant_times(limiter, clock, [0.0])

        assert granted == [pytest.approx(2.0)]

    async def test_queued_counts_the_slots_taken_ahead(self) -> None:
        """Callers waiting for their slot show as queued; none once they passed."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)
        assert limiter.queued() == 0

        waiting = [asyncio.create_task(limiter.acquire()) for _ in range(5)]
        await asyncio.sleep(0)
        # The first passed at once; four more wait, and the next free slot is
        # the fifth, 0.5 s ahead.
        assert limiter.queued() == pytest.approx(5)

        await clock.run_until_idle()
        await asyncio.gather(*waiting)
        clock.time += 1.0
        assert limiter.queued() == 0

    async def test_queued_is_zero_when_off(self) -> None:
        """A limiter that is off never has anything queued."""
        limiter = RateLimiter(0, clock=FakeClock())
        for _ in range(10):
            await limiter.acquire()
        assert limiter.queued() == 0
