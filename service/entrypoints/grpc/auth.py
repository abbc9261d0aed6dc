"""Bearer-token authentication of callers and their account permissions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.config import Caller
from service.errors import ConfigurationError, PermissionDenied, Unauthenticated

ALL_ACCOUNTS = "*"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and the accounts it may act for."""

    name: str
    accounts: frozenset[str]

    def may_act_for(self, account_id: str) -> bool:
        """Whether this caller may act for `account_id`."""
        return ALL_ACCOUNTS in self.accounts or account_id in self.accounts

    def visible(self, account_ids: Iterable[str]) -> list[str]:
        """The subset of `account_ids` this caller may see."""
        return [a for a in account_ids if self.may_act_for(a)]

    def require(self, account_id: str) -> None:
        """Raise PermissionDenied unless this caller may act for `account_id`."""
        if not self.may_act_for(account_id):
            msg = f"caller {self.name} may not act for account {account_id}"
            raise PermissionDenied(msg, metadata={"account_id": account_id})


class Authenticator:
    """Maps bearer tokens to principals.

    Tokens are kept only as SHA-256 digests, so a lookup compares digests and
    the tokens themselves never sit in a data structure that could be logged.
    Two callers with the same token are a ConfigurationError naming both.
    """

    def __init__(self, callers: Sequence[tuple[str, str, Sequence[str]]]):
        self._by_digest: dict[bytes, Principal] = {}
        for name, token, accounts in callers:
            digest = _digest(token)
            other = self._by_digest.get(digest)
            if other is not None:
                # One token for two callers would make every call the last
                # one's, whatever the first was meant to be allowed.
                msg = (
                    f"setting callers: callers {other.name} and {name} have the "
                    "same token; give each caller a token of its own"
                )
                raise ConfigurationError(msg)
            self._by_digest[digest] = Principal(name, frozenset(accounts))

    @classmethod
    def from_settings(cls, callers: Sequence[Caller]) -> Authenticator:
        """Resolve each caller's token secret; a missing secret stops the start."""
        return cls(
            [
                (
                    caller.name,
                    caller.token.resolve(
                        f"callers.{caller.name}.token"
                    ).get_secret_value(),
                    caller.accounts,
                )
                for caller in callers
            ]
        )

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an `authorization` metadata value, or Unauthenticated."""
        if not authorization:
            msg = "missing authorization metadata: send 'authorization: Bearer <token>'"
            raise Unauthenticated(msg)

        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "authorization metadata must be 'Bearer <token>'"
            raise Unauthenticated(msg)

        principal = self._by_digest.get(_digest(token.strip()))
        if principal is None:
            msg = "unknown bearer token"
            raise Unauthenticated(msg)
        return principal


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()
