"""The token cache's answer to rejected client credentials."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from service.adapters.boltrics import BoltricsConfigurationError
from service.adapters.boltrics.auth import TokenCache
from service.config import BoltricsConnection, SecretRef

#: Every character here is escaped by form encoding, one way or another.
SECRET = "s3cr+et/with=pad ding&more~%"


def echoing_endpoint(echo: str) -> httpx.MockTransport:
    """A token endpoint that rejects the client and echoes what it was sent:
    the raw form body, or the secret in the form `echo` names."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = request.content.decode("ascii")
        sent = {
            "body": body,
            "raw": SECRET,
            "quote": quote(SECRET),
            "quote-lower": quote(SECRET).lower(),
        }[echo]
        description = f"invalid client secret in request: {sent}"
        return httpx.Response(
            401,
            content=json.dumps(
                {"error": f"invalid_client {sent}", "error_description": description}
            ),
            headers={"content-type": "application/json"},
        )

    return httpx.MockTransport(answer)


def token_cache(http: httpx.AsyncClient) -> TokenCache:
    """A cache for account acme, with SECRET as its client secret."""
    connection = BoltricsConnection(
        base_url="https://bc.example.com/api",
        company_id="c1",
        token_url="https://login.example.com/token",
        client_id="app",
        client_secret=SecretRef(env="UNUSED"),
    )
    return TokenCache(http, connection, account="acme", secret=SecretStr(SECRET))


class TestRejectedCredentials:
    """A rejection is a configuration error that never carries the secret."""

    @pytest.mark.parametrize("echo", ["body", "raw", "quote", "quote-lower"])
    async def test_echoed_secret_is_scrubbed_in_every_encoding(self, echo: str) -> None:
        """The secret, form-encoded or percent-encoded in either case, becomes
        *** in the error's text and metadata and in the log event."""
        async with httpx.AsyncClient(transport=echoing_endpoint(echo)) as http:
            cache = token_cache(http)

            with (
                capture_logs() as logs,
                pytest.raises(BoltricsConfigurationError) as caught,
            ):
                await cache.get(request_timeout=5)

        published = str(caught.value) + repr(logs)
        assert "invalid client secret in request: " in published and "***" in published
        for form in (SECRET, quote_plus(SECRET), quote(SECRET), quote(SECRET, "")):
            assert form.lower() not in published.lower()
        assert SECRET not in repr(caught.value.metadata)

    @pytest.mark.parametrize("body", ['["invalid_client"]', '"no"', "not json"])
    async def test_a_rejection_that_is_no_json_object_is_still_a_rejection(
        self, body: str
    ) -> None:
        """A JSON list, a JSON string or text from the token endpoint makes
        the same configuration error, not a crash."""

        def answer(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(401, content=body)

        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            with pytest.raises(BoltricsConfigurationError, match=r"\(rejected\)"):
                await token_cache(http).get(request_timeout=5)
