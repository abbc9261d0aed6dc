"""The gateway registry and the retry policy."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.adapters.boltrics import BoltricsGateway, GatewayRegistry, RetryPolicy
from service.config import BoltricsConnection, SecretRef


class FakeGateway:
    """Counts being closed; nothing else is used."""

    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        """Remember the close."""
        self.closed = True


def connection(**overrides: Any) -> BoltricsConnection:
    """Connection settings with defaults."""
    values: dict[str, Any] = {
        "base_url": "https://bc.example.com/api",
        "company_id": "c1",
        "token_url": "https://login.example.com/token",
        "client_id": "app",
        "client_secret": SecretRef(env="UNUSED"),
        **overrides,
    }
    return BoltricsConnection(**values)


def fake_factory(made: list[FakeGateway]) -> Any:
    """A factory that records the fakes it makes."""

    def make(account: str, settings: BoltricsConnection) -> BoltricsGateway:
        gateway = FakeGateway()
        made.append(gateway)
        return gateway  # type: ignore[return-value]  # a fake with only aclose

    return make


class TestGatewayRegistry:
    """One gateway per account and connection."""

    def test_same_account_shares_one_gateway(self) -> None:
        """Asking twice for the same connection gives the same gateway."""
        made: list[FakeGateway] = []
        registry = GatewayRegistry(fake_factory(made))

        first = registry.get("acme", connection())
        second = registry.get("acme", connection())

        assert first is second and len(made) == 1

    async def test_changed_connection_gets_a_new_gateway_and_closes_the_old(
        self,
    ) -> None:
        """A reloaded connection replaces the gateway; aclose closes both."""
        made: list[FakeGateway] = []
        registry = GatewayRegistry(fake_factory(made))

        registry.get("acme", connection())
        registry.get("acme", connection(rate_limit_per_second=5))
        await registry.aclose()

        assert len(made) == 2 and all(gateway.closed for gateway in made)


class TestRetryPolicy:
    """Backoff grows exponentially, is capped and jittered."""

    @given(st.integers(min_value=1, max_value=50))
    def test_backoff_stays_within_half_and_whole_of_the_cap(self, attempt: int) -> None:
        """Each wait lies between half and all of min(max_wait, initial * 2^n)."""
        policy = RetryPolicy(initial_wait=0.1, max_wait=5.0)
        ceiling = min(5.0, 0.1 * 2 ** (attempt - 1))

        wait = policy.backoff(attempt)

        assert ceiling / 2 <= wait <= ceiling
