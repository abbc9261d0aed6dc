"""The settings the composition root refuses before it builds anything."""

from __future__ import annotations

import pytest

from service.bootstrap import check_settings
from service.config import Account, BoltricsConnection, Caller, SecretRef, Settings
from service.errors import ConfigurationError


def settings_with(*accounts_of_callers: list[str]) -> Settings:
    """Settings with accounts acme and globex (acme connected to Boltrics), and
    one caller for each list of account ids given."""
    connection = BoltricsConnection(
        base_url="https://bc.example.com/api",
        company_id="c1",
        token_url="https://login.example.com/token",
        client_id="app",
        client_secret=SecretRef(env="TEST_BOOTSTRAP_SECRET"),
    )
    callers = [
        Caller(name=f"caller-{number}", token=SecretRef(env="UNUSED"), accounts=ids)
        for number, ids in enumerate(accounts_of_callers, start=1)
    ]
    accounts = [Account(id="acme", boltrics=connection), Account(id="globex")]
    return Settings(callers=callers, accounts=accounts)


class TestCheckSettings:
    """Callers may only be given accounts that are configured."""

    @pytest.fixture(autouse=True)
    def _secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TEST_BOOTSTRAP_SECRET", "hush")

    def test_configured_accounts_and_the_wildcard_pass(self) -> None:
        """Callers of configured accounts, with or without Boltrics, and of "*"
        are accepted."""
        settings = settings_with(["acme"], ["acme", "globex"], ["*"])

        check_settings(settings)

    def test_unknown_account_is_refused_naming_caller_and_account(self) -> None:
        """A caller listing an account that is not configured stops the start."""
        settings = settings_with(["acme"], ["globex", "initech"])

        with pytest.raises(ConfigurationError) as caught:
            check_settings(settings)

        assert str(caught.value) == (
            "setting callers: caller caller-2 lists account initech, "
            "which is not configured"
        )
