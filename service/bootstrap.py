"""The composition root: builds the service from its settings.

Every real adapter is created here and nowhere else; tests build the same
pieces with fakes where a fake is enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.adapters.store.database import Database
from service.adapters.store.request_keys import SqlRequestKeys
from service.config import Settings
from service.entrypoints.grpc.auth import Authenticator
from service.errors import ConfigurationError
from service.logging import get_logger

_log = get_logger(__name__)


@dataclass
class Readiness:
    """Named checks that must all pass for the service to report SERVING."""

    checks: dict[str, object] = field(default_factory=dict)

    def failing(self) -> list[str]:
        """The names of the checks that do not pass now."""
        return [name for name, check in self.checks.items() if not _passes(check)]


def _passes(check: object) -> bool:
    return bool(check() if callable(check) else check)


@dataclass
class App:
    """The running service's parts."""

    settings: Settings
    database: Database
    authenticator: Authenticator
    request_keys: SqlRequestKeys
    readiness: Readiness

    async def close(self) -> None:
        """Release everything the app holds."""
        await self.database.close()


def check_settings(settings: Settings) -> None:
    """Refuse settings the service cannot run with, with one clear sentence."""
    if not settings.callers:
        msg = (
            "setting callers: no caller is configured, "
            "so no call could be authenticated"
        )
        raise ConfigurationError(msg)
    if not any(account.boltrics for account in settings.accounts):
        msg = (
            "setting accounts: no account has a Boltrics connection "
            "(configure accounts[].boltrics, or start with --sandbox for a demo)"
        )
        raise ConfigurationError(msg)
    for account in settings.accounts:
        if account.boltrics is not None:
            account.boltrics.client_secret.resolve(
                f"accounts.{account.id}.boltrics.client_secret"
            )


async def build_app(settings: Settings) -> App:
    """Open the store and build every part; bad settings raise ConfigurationError."""
    check_settings(settings)
    authenticator = Authenticator.from_settings(settings.callers)

    database = Database(settings.store.url)
    await database.open()
    readiness = Readiness({"store": lambda: database.is_open})

    return App(
        settings=settings,
        database=database,
        authenticator=authenticator,
        request_keys=SqlRequestKeys(database),
        readiness=readiness,
    )
