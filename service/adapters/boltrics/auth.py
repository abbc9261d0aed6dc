"""OAuth2 client credentials: one token per connection, renewed before it expires."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import httpx
from pydantic import SecretStr

from service.adapters.boltrics.documents import TOKEN_GRANT_TYPE
from service.adapters.boltrics.errors import (
    BoltricsConfigurationError,
    BoltricsTransientError,
)
from service.adapters.boltrics.metrics import record_call
from service.config import BoltricsConnection
from service.logging import get_logger

logger = get_logger(__name__)

#: Renew this long before expiry, or after 90% of the lifetime if that is shorter.
RENEW_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and the monotonic time after which it is not used."""

    value: str
    renew_at: float


class TokenCache:
    """Fetches a token once and shares it; concurrent callers wait for one fetch.

    A rejected client id or secret is a `BoltricsConfigurationError` naming the
    account and client id. Transport faults and 5xx answers raise
    `TransientTokenError` for the caller's retry loop.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        connection: BoltricsConnection,
        *,
        account: str,
        secret: SecretStr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._connection = connection
        self._account = account
        self._secret = secret
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def get(self, *, request_timeout: float) -> str:
        """A valid bearer token, fetched only when there is none or it is due."""
        token = self._token
        if token is not None and self._clock() < token.renew_at:
            return token.value

        async with self._lock:
            token = self._token
            if token is None or self._clock() >= token.renew_at:
                token = await self._fetch(request_timeout)
                self._token = token
            return token.value

    def invalidate(self, value: str) -> None:
        """Forget the token `value` (Boltrics answered 401 to it)."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self, request_timeout: float) -> AccessToken:
        started = self._clock()
        form = {
            "grant_type": TOKEN_GRANT_TYPE,
            "client_id": self._connection.client_id,
            "client_secret": self._secret.get_secret_value(),
            "scope": self._connection.scope,
        }
        try:
            response = await self._http.post(
                self._connection.token_url, data=form, timeout=request_timeout
            )
        except httpx.HTTPError as exc:
            record_call("token", "transport_error", self._clock() - started)
            msg = f"token endpoint unreachable: {type(exc).__name__}"
            raise TransientTokenError(msg) from exc

        record_call("token", str(response.status_code), self._clock() - started)
        return self._read(response, started)

    def _read(self, response: httpx.Response, started: float) -> AccessToken:
        if response.status_code in (400, 401):
            raise self._rejected(response)
        if response.status_code != 200:
            msg = f"token endpoint answered {response.status_code}"
            raise TransientTokenError(msg)

        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3599))
        except (ValueError, KeyError, TypeError) as exc:
            msg = "token endpoint answered 200 without a usable access_token"
            raise TransientTokenError(msg) from exc

        margin = min(RENEW_MARGIN_SECONDS, lifetime * 0.1)
        logger.info(
            "boltrics.token_fetched",
            account=self._account,
            client_id=self._connection.client_id,
            expires_in=lifetime,
        )
        return AccessToken(value=value, renew_at=started + lifetime - margin)

    def _rejected(self, response: httpx.Response) -> BoltricsConfigurationError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            # Some servers echo what they were sent; the secret must not travel on.
            secret = self._secret.get_secret_value()
            error = _scrub(str(body.get("error", "")), secret) or "rejected"
            description = _scrub(str(body.get("error_description", "")), secret)
        else:
            error, description = "rejected", ""
        logger.error(
            "boltrics.credentials_rejected",
            account=self._account,
            client_id=self._connection.client_id,
            error=error,
        )
        msg = (
            f"account {self._account}: Boltrics rejected the client credentials of "
            f"client id {self._connection.client_id} ({error}"
            + (f": {description}" if description else "")
            + "); check the connection's client id and secret"
        )
        return BoltricsConfigurationError(
            msg,
            metadata={
                "account": self._account,
                "client_id": self._connection.client_id,
            },
        )


def _scrub(text: str, secret: str) -> str:
    """`text` with the secret replaced by `***`, as sent and as form-encoded.

    The secret travels form-encoded, so an echo of the request carries it with
    `+`, `/`, `=`, spaces and the like escaped; hex digits of either case.
    """
    forms = {secret, quote_plus(secret), quote(secret), quote(secret, safe="")}
    longest_first = sorted(forms, key=len, reverse=True)
    pattern = "|".join(re.escape(form) for form in longest_first)
    return re.sub(pattern, "***", text, flags=re.IGNORECASE)


class TransientTokenError(BoltricsTransientError):
    """The token endpoint failed in a way that may pass; retried by the caller."""
