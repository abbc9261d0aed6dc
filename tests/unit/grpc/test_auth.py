"""Bearer tokens to principals, and their account permissions."""

from __future__ import annotations

import pytest

from service.entrypoints.grpc.auth import Authenticator
from service.errors import ConfigurationError, PermissionDenied, Unauthenticated


@pytest.fixture
def authenticator() -> Authenticator:
    """Two callers: one for acme, one for everything."""
    return Authenticator([("hub", "t-acme", ["acme"]), ("ops", "t-all", ["*"])])


class TestAuthenticator:
    def test_known_token_gives_its_principal(
        self, authenticator: Authenticator
    ) -> None:
        """A known bearer token maps to its caller."""
        assert authenticator.authenticate("Bearer t-acme").name == "hub"

    @pytest.mark.parametrize("value", [None, "", "Bearer ", "Basic t-acme", "t-acme"])
    def test_malformed_header_is_unauthenticated(
        self, authenticator: Authenticator, value: str | None
    ) -> None:
        """No header, no token or another scheme is UNAUTHENTICATED."""
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(value)

    def test_unknown_token_is_unauthenticated(
        self, authenticator: Authenticator
    ) -> None:
        """A token nobody was given is refused."""
        with pytest.raises(Unauthenticated, match="unknown bearer token"):
            authenticator.authenticate("Bearer guess")

    def test_shared_token_is_refused_naming_both_callers(self) -> None:
        """Two callers with one token stop the start, naming the callers only."""
        callers = [("hub", "t-same", ["acme"]), ("ops", "t-same", ["*"])]

        with pytest.raises(ConfigurationError) as caught:
            Authenticator(callers)

        assert str(caught.value) == (
            "setting callers: callers hub and ops have the same token; "
            "give each caller a token of its own"
        )


class TestPrincipal:
    def test_account_permissions(self, authenticator: Authenticator) -> None:
        """A caller acts for its accounts only; "*" acts for all."""
        hub = authenticator.authenticate("Bearer t-acme")
        ops = authenticator.authenticate("Bearer t-all")

        assert hub.may_act_for("acme") and not hub.may_act_for("globex")
        assert ops.may_act_for("globex")
        assert hub.visible(["acme", "globex"]) == ["acme"]

    def test_require_names_caller_and_account(
        self, authenticator: Authenticator
    ) -> None:
        """Acting for a foreign account is PERMISSION_DENIED with both names."""
        hub = authenticator.authenticate("Bearer t-acme")

        with pytest.raises(
            PermissionDenied, match="caller hub may not act for account globex"
        ):
            hub.require("globex")
