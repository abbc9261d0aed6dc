"""Background polls make way for orders while a connection is congested."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr
from structlog.testing import capture_logs

from service.adapters.boltrics import HttpxBoltricsGateway, RateLimiter
from service.adapters.boltrics.client import CONGESTED_CALLS
from service.services.pacing import CONGESTED_FACTOR, PollPacer, run_every
from tests.unit.boltrics.test_gateway import connection
from tests.unit.boltrics.test_ratelimit import FakeClock


class FakeGateway:
    """Only what the pacer asks of a gateway."""

    def __init__(self) -> None:
        self.congested = False


class FakeTime:
    """A monotonic clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pacer(interval: float = 0.5) -> tuple[PollPacer, FakeTime]:
    """A pacer on a fake clock, and the clock."""
    clock = FakeTime()
    return PollPacer(interval, clock=clock), clock


def gateway(congested: bool) -> Any:
    """A stand-in gateway, congested or not."""
    fake = FakeGateway()
    fake.congested = congested
    return fake


class TestPollPacer:
    def test_without_congestion_every_round_polls(self) -> None:
        """Nothing is held back while the connection is not congested."""
        paced, _ = pacer()
        free = gateway(congested=False)

        assert [paced.due("acme", free) for _ in range(5)] == [True] * 5

    def test_congestion_spaces_polls_by_the_factor(self) -> None:
        """While congested, a poll comes only CONGESTED_FACTOR intervals after the
        last one."""
        paced, clock = pacer(interval=0.5)
        busy = gateway(congested=True)
        assert paced.due("acme", busy)

        spacing = 0.5 * CONGESTED_FACTOR
        clock.now += spacing - 0.01
        assert not paced.due("acme", busy)
        clock.now += 0.01
        assert paced.due("acme", busy)

    def test_the_first_poll_of_an_account_is_never_held_back(self) -> None:
        """Each account keeps its own spacing; one account's poll does not delay
        another's."""
        paced, _ = pacer()
        busy = gateway(congested=True)
        assert paced.due("acme", busy)

        assert paced.due("other", busy)
        assert not paced.due("acme", busy)

    def test_congestion_ending_lets_the_next_round_poll(self) -> None:
        """Once nothing queues any more, the next round polls at once."""
        paced, _ = pacer()
        link = gateway(congested=True)
        assert paced.due("acme", link)
        assert not paced.due("acme", link)

        link.congested = False
        assert paced.due("acme", link)


class TestGatewayCongestion:
    async def test_congested_once_calls_queue_for_the_rate_limit(self) -> None:
        """The gateway counts as congested from CONGESTED_CALLS waiting calls."""
        clock = FakeClock()
        limiter = RateLimiter(10, clock=clock)
        boltrics = HttpxBoltricsGateway(
            connection(), account="acme", secret=SecretStr("s"), limiter=limiter
        )
        waiting: list[asyncio.Task[None]] = []

        async def calls(count: int) -> None:
            waiting.extend(asyncio.create_task(limiter.acquire()) for _ in range(count))
            await asyncio.sleep(0)

        try:
            await calls(CONGESTED_CALLS - 1)
            assert not boltrics.congested

            await calls(1)
            assert boltrics.congested
        finally:
            for task in waiting:
                task.cancel()
            await boltrics.aclose()


class TestRunEvery:
    async def test_a_failing_round_is_logged_and_the_next_one_runs(self) -> None:
        """The first round raises: it is logged by name, and rounds go on until
        stop is set."""
        stop = asyncio.Event()
        rounds: list[int] = []

        async def one_round() -> None:
            rounds.append(len(rounds))
            if len(rounds) == 1:
                raise RuntimeError("boom")
            if len(rounds) == 3:
                stop.set()

        with capture_logs() as logs:
            await asyncio.wait_for(run_every(stop, 0.001, one_round, "x.failed"), 5)

        assert rounds == [0, 1, 2]
        assert [log["event"] for log in logs] == ["x.failed"]
