"""OAuth2 client credentials between the gateway and the sandbox."""

from __future__ import annotations

import pytest

from service.adapters.boltrics import BoltricsConfigurationError, BoltricsNotFound
from tests.integration.boltrics.conftest import CLIENT_SECRET, Control, GatewayMaker


class TestTokens:
    """One token serves many calls; a refused token is renewed once."""

    async def test_hundred_calls_use_one_token(
        self, make_gateway: GatewayMaker, control: Control
    ) -> None:
        """A hundred calls fetch a single token."""
        gateway = make_gateway()

        for number in range(100):
            assert await gateway.find_by_reference(f"missing-{number}") is None

        assert (await control.stats())["tokensIssued"] == 1

    async def test_expired_token_is_renewed(
        self, make_gateway: GatewayMaker, control: Control
    ) -> None:
        """After the sandbox expires the token, the next call renews it."""
        gateway = make_gateway()
        await gateway.find_by_reference("before")

        await control.call("POST", "/expire-tokens")
        found = await gateway.find_by_reference("after")

        assert found is None
        assert (await control.stats())["tokensIssued"] == 2

    async def test_wrong_secret_fails_at_once_naming_the_account(
        self, make_gateway: GatewayMaker, control: Control
    ) -> None:
        """A rejected secret is a configuration error naming the account only."""
        gateway = make_gateway(secret="wrong-secret-123")

        with pytest.raises(BoltricsConfigurationError) as caught:
            await gateway.get_message("00000000-0000-0000-0000-000000000000")

        message = str(caught.value)
        assert "acme" in message and "connector-test" in message
        assert "wrong-secret-123" not in message and CLIENT_SECRET not in message
        assert (await control.stats())["calls"].get("token") == 1

    async def test_unknown_message_is_not_found(
        self, make_gateway: GatewayMaker
    ) -> None:
        """A 404 is BoltricsNotFound, without retries."""
        gateway = make_gateway()

        with pytest.raises(BoltricsNotFound):
            await gateway.get_message("00000000-0000-0000-0000-000000000000")
