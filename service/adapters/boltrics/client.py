"""`HttpxBoltricsGateway`: the Boltrics DI API over httpx, with every fault handled.

Faults follow the contract's error table. A 400 is permanent and surfaces
Boltrics' message; a 401 renews the token and repeats the call once; a 429
holds the whole connection back for at least `Retry-After`; 5xx answers,
resets and timeouts are retried with capped exponential backoff and jitter.

A `POST` whose outcome is unknown (a reset, a timeout, a 5xx) is looked up by
`externalReference` before it is sent again, so a message is never posted
twice by one gateway. The gateway remembers such references between calls too,
but not across a restart: after one, a caller that does not know whether its
submission arrived calls `find_by_reference` first. Concurrent submissions of
the same reference are the caller's to prevent.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import SecretStr

from service.adapters.boltrics import documents as doc
from service.adapters.boltrics.auth import TokenCache
from service.adapters.boltrics.documents import DiMessage, StockLevel
from service.adapters.boltrics.errors import (
    BoltricsConfigurationError,
    BoltricsDeadlineExceeded,
    BoltricsError,
    BoltricsNotFound,
    BoltricsRejected,
    BoltricsStaleEtag,
    BoltricsTransientError,
    BoltricsUnavailable,
)
from service.adapters.boltrics.metrics import record_call
from service.adapters.boltrics.ratelimit import RateLimiter
from service.config import BoltricsConnection
from service.logging import get_logger

logger = get_logger(__name__)

T = TypeVar("T")

#: How often an acknowledgement is tried again after a 412 before giving up.
ACKNOWLEDGE_CONFLICTS = 3


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, for transient faults."""

    attempts: int = 8
    initial_wait: float = 0.2
    max_wait: float = 10.0
    multiplier: float = 2.0

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt`: half fixed, half random."""
        ceiling = min(
            self.max_wait, self.initial_wait * self.multiplier ** (attempt - 1)
        )
        return ceiling / 2 + random.uniform(0, ceiling / 2)


# Calls waiting for the rate limit from which the connection counts as
# congested: more than a poll's few pages, fewer than the dispatcher's sends.
CONGESTED_CALLS = 4


class HttpxBoltricsGateway:
    """The `BoltricsGateway` of one connection, over an httpx `AsyncClient`.

    Every HTTP call has a timeout (the connection's `timeout_seconds`, less if a
    deadline is nearer) and no call outlives the `deadline` its caller passes,
    an absolute `time.monotonic()` value.
    """

    def __init__(
        self,
        connection: BoltricsConnection,
        *,
        account: str,
        secret: SecretStr | None = None,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.account = account
        self._connection = connection
        self._api = doc.company_url(connection.base_url, connection.company_id)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            timeout=connection.timeout_seconds,
        )
        self._limiter = limiter or RateLimiter(connection.rate_limit_per_second)
        self._retry = retry or RetryPolicy()
        self._timeout = httpx.Timeout(connection.timeout_seconds)
        resolved = secret or connection.client_secret.resolve(
            f"accounts.{account}.boltrics.client_secret"
        )
        self._tokens = TokenCache(
            self._http, connection, account=account, secret=resolved
        )
        self._unknown_outcome: set[str] = set()

    # --- messages ----------------------------------------------------------

    async def submit(
        self,
        message_type: str,
        external_reference: str,
        xml: bytes,
        *,
        deadline: float | None = None,
    ) -> DiMessage:
        """Post one message and return it as created; never posts it twice."""
        _check_reference(external_reference)
        body = {
            doc.FIELD_MESSAGE_TYPE: message_type,
            doc.FIELD_EXTERNAL_REFERENCE: external_reference,
            doc.FIELD_CONTENT: doc.encode_content(xml),
        }

        async def attempt() -> DiMessage:
            if external_reference in self._unknown_outcome:
                found = await self._find_once(
                    external_reference, message_type, deadline
                )
                if found is not None:
                    logger.info(
                        "boltrics.submission_found",
                        account=self.account,
                        external_reference=external_reference,
                        message_id=found.id,
                    )
                    self._unknown_outcome.discard(external_reference)
                    return found
            return await self._post_once(external_reference, body, deadline)

        return await self._call("post_message", attempt, deadline)

    async def _post_once(
        self, external_reference: str, body: Mapping[str, str], deadline: float | None
    ) -> DiMessage:
        # Marked before sending, so that a cancellation also leaves it unknown.
        self._unknown_outcome.add(external_reference)
        try:
            response = await self._send(
                "post_message", "POST", self._api + doc.MESSAGES_PATH, json=body
            )
        except BoltricsTransientError as exc:
            if not exc.outcome_unknown:
                self._unknown_outcome.discard(external_reference)
            raise
        except BoltricsError:
            self._unknown_outcome.discard(external_reference)
            raise

        self._unknown_outcome.discard(external_reference)
        return doc.message_from_json(response.json())

    async def find_by_reference(
        self,
        external_reference: str,
        *,
        message_type: str | None = None,
        direction: str | None = doc.Direction.INBOUND,
        deadline: float | None = None,
    ) -> DiMessage | None:
        """The oldest message with this external reference (Inbound by default)."""

        async def attempt() -> DiMessage | None:
            return await self._find_once(
                external_reference, message_type, deadline, direction=direction
            )

        return await self._call("find_message", attempt, deadline)

    async def _find_once(
        self,
        external_reference: str,
        message_type: str | None,
        deadline: float | None,
        *,
        direction: str | None = doc.Direction.INBOUND,
    ) -> DiMessage | None:
        conditions = {doc.FIELD_EXTERNAL_REFERENCE: external_reference}
        if message_type is not None:
            conditions[doc.FIELD_MESSAGE_TYPE] = message_type
        if direction is not None:
            conditions[doc.FIELD_DIRECTION] = direction
        params = {doc.QUERY_FILTER: doc.build_filter(conditions), doc.QUERY_TOP: "1"}

        response = await self._send(
            "find_message", "GET", self._api + doc.MESSAGES_PATH, params=params
        )
        rows = _page_rows(_page_body(response))
        return doc.message_from_json(rows[0]) if rows else None

    async def get_message(
        self, message_id: str, *, deadline: float | None = None
    ) -> DiMessage:
        """One message by id; BoltricsNotFound if Boltrics does not know it."""
        url = self._message_url(message_id)

        async def attempt() -> DiMessage:
            response = await self._send("get_message", "GET", url)
            return doc.message_from_json(response.json())

        return await self._call("get_message", attempt, deadline)

    async def list_messages(
        self,
        *,
        direction: str | None = None,
        status: str | None = None,
        message_type: str | None = None,
        external_reference: str | None = None,
        page_size: int = doc.MAX_MESSAGE_PAGE,
    ) -> AsyncIterator[DiMessage]:
        """Every message that matches, oldest first, page by page."""
        conditions = {
            name: value
            for name, value in (
                (doc.FIELD_DIRECTION, direction),
                (doc.FIELD_STATUS, status),
                (doc.FIELD_MESSAGE_TYPE, message_type),
                (doc.FIELD_EXTERNAL_REFERENCE, external_reference),
            )
            if value is not None
        }
        params = {doc.QUERY_TOP: str(max(1, min(page_size, doc.MAX_MESSAGE_PAGE)))}
        if conditions:
            params[doc.QUERY_FILTER] = doc.build_filter(conditions)

        async for row in self._pages("list_messages", doc.MESSAGES_PATH, params):
            yield doc.message_from_json(row)

    async def acknowledge(
        self, message: DiMessage, *, deadline: float | None = None
    ) -> None:
        """Mark an Outbound message Processed; on a stale etag, read it and decide."""
        current = message
        for _ in range(ACKNOWLEDGE_CONFLICTS):
            if current.status == doc.MessageStatus.PROCESSED:
                return
            try:
                await self._patch_status(current, deadline)
                return
            except BoltricsStaleEtag:
                logger.info(
                    "boltrics.acknowledge_conflicted",
                    account=self.account,
                    message_id=message.id,
                )
                current = await self.get_message(message.id, deadline=deadline)

        msg = f"message {message.id} kept changing while it was acknowledged"
        raise BoltricsStaleEtag(msg)

    async def _patch_status(self, message: DiMessage, deadline: float | None) -> None:
        url = self._message_url(message.id)
        body = {doc.FIELD_STATUS: doc.MessageStatus.PROCESSED.value}

        async def attempt() -> None:
            await self._send(
                "patch_message",
                "PATCH",
                url,
                json=body,
                headers={doc.IF_MATCH: message.etag},
            )

        await self._call("patch_message", attempt, deadline)

    # --- stock -------------------------------------------------------------

    async def stock_levels(
        self,
        *,
        modified_since: datetime | None = None,
        page_size: int = doc.MAX_STOCK_PAGE,
    ) -> AsyncIterator[StockLevel]:
        """Every stock level the warehouse knows (changed since `modified_since`)."""
        pages = self.stock_level_pages(
            modified_since=modified_since, page_size=page_size
        )
        async for page in pages:
            for level in page:
                yield level

    async def stock_level_pages(
        self,
        *,
        modified_since: datetime | None = None,
        page_size: int = doc.MAX_STOCK_PAGE,
    ) -> AsyncIterator[list[StockLevel]]:
        """Every stock level, a page at a time, as Boltrics pages them."""
        params = {doc.QUERY_TOP: str(max(1, min(page_size, doc.MAX_STOCK_PAGE)))}
        if modified_since is not None:
            params[doc.QUERY_FILTER] = (
                f"{doc.FIELD_MODIFIED_AT} gt {doc.format_timestamp(modified_since)}"
            )

        async for rows in self._page_lists(
            "stock_levels", doc.STOCK_LEVELS_PATH, params
        ):
            yield doc.stock_levels_from_json(rows)

    @property
    def congested(self) -> bool:
        """Whether at least `CONGESTED_CALLS` calls wait for the rate limit."""
        return self._limiter.queued() >= CONGESTED_CALLS

    async def aclose(self) -> None:
        """Close the HTTP connections, if this gateway opened them."""
        if self._owns_http:
            await self._http.aclose()

    # --- the machinery -----------------------------------------------------

    def _message_url(self, message_id: str) -> str:
        return self._api + doc.MESSAGE_PATH.format(message_id=message_id)

    async def _pages(
        self, kind: str, path: str, params: dict[str, str]
    ) -> AsyncIterator[dict[str, Any]]:
        async for rows in self._page_lists(kind, path, params):
            for row in rows:
                yield row

    async def _page_lists(
        self, kind: str, path: str, params: dict[str, str]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        url: str | None = self._api + path
        query: dict[str, str] | None = params
        while url is not None:
            send_page = functools.partial(self._send, kind, "GET", url, params=query)
            response = await self._call(kind, send_page, None)
            page = _page_body(response)
            yield _page_rows(page)
            url, query = self._next_link(page), None

    def _next_link(self, page: dict[str, Any]) -> str | None:
        link = page.get(doc.PAGE_NEXT_LINK)
        if link is None:
            return None
        # The bearer token goes wherever the link points: only to this company.
        if not str(link).startswith(self._api):
            msg = f"Boltrics sent a next-link outside the company's API: {link}"
            raise BoltricsRejected(msg, code="ForeignNextLink")
        return str(link)

    async def _call(
        self,
        kind: str,
        attempt: Callable[[], Awaitable[T]],
        deadline: float | None,
    ) -> T:
        """Run `attempt` until it succeeds, retrying transient faults, in time."""
        async with _deadline_scope(deadline, kind):
            for number in itertools.count(1):
                try:
                    return await attempt()
                except BoltricsTransientError as exc:
                    await self._wait_before_retry(kind, number, exc, deadline)
        raise AssertionError("unreachable")  # pragma: no cover - the loop only returns

    async def _wait_before_retry(
        self,
        kind: str,
        number: int,
        exc: BoltricsTransientError,
        deadline: float | None,
    ) -> None:
        delay = self._retry.backoff(number)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
            self._limiter.pause(exc.retry_after)

        if number >= self._retry.attempts:
            logger.warning(
                "boltrics.retries_exhausted",
                account=self.account,
                kind=kind,
                error=str(exc),
            )
            msg = f"Boltrics {kind} failed {number} times; last: {exc}"
            raise BoltricsUnavailable(msg) from exc
        if deadline is not None and time.monotonic() + delay >= deadline:
            msg = (
                f"Boltrics {kind}: the deadline passes before the next attempt ({exc})"
            )
            raise BoltricsDeadlineExceeded(msg) from exc

        logger.info(
            "boltrics.retry_scheduled",
            account=self.account,
            kind=kind,
            attempt=number,
            delay=round(delay, 3),
            error=str(exc),
        )
        await asyncio.sleep(delay)

    async def _send(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One exchange: a 2xx response, or the error its status means.

        A 401 renews the token and repeats the exchange once.
        """
        for renewed in (False, True):
            await self._limiter.acquire()
            token = await self._tokens.get(
                request_timeout=self._connection.timeout_seconds
            )
            all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
            response = await self._exchange(
                kind, method, url, params, json, all_headers
            )
            if response.status_code == 401 and not renewed:
                logger.info("boltrics.token_refused", account=self.account, kind=kind)
                self._tokens.invalidate(token)
                continue
            return self._checked(kind, response)
        raise AssertionError(
            "unreachable"
        )  # pragma: no cover - the loop always returns

    async def _exchange(
        self,
        kind: str,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method,
                url,
                params=params,
                json=json,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            record_call(kind, _transport_outcome(exc), time.perf_counter() - started)
            msg = f"{kind}: {type(exc).__name__} talking to Boltrics"
            raise BoltricsTransientError(
                msg, outcome_unknown=_maybe_processed(exc)
            ) from exc

        record_call(
            kind, _status_outcome(response.status_code), time.perf_counter() - started
        )
        return response

    def _checked(self, kind: str, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status == 429:
            retry_after = _retry_after(response)
            msg = f"{kind}: rate limited (429), retry after {retry_after}s"
            raise BoltricsTransientError(msg, retry_after=retry_after)
        if status >= 500:
            msg = f"{kind}: Boltrics answered {status}"
            raise BoltricsTransientError(msg, outcome_unknown=True)
        raise self._permanent(kind, response)

    def _permanent(self, kind: str, response: httpx.Response) -> BoltricsError:
        code, message = _error_body(response)
        status = response.status_code
        if status == 401:
            msg = (
                f"account {self.account}: Boltrics refused a fresh token of client "
                f"id {self._connection.client_id} for company "
                f"{self._connection.company_id}"
            )
            return BoltricsConfigurationError(msg, metadata={"account": self.account})
        if status == 404:
            return BoltricsNotFound(f"{kind}: {message or 'not found'}")
        if status == 412:
            return BoltricsStaleEtag(f"{kind}: {message or 'the etag is stale'}")
        return BoltricsRejected(
            f"Boltrics rejected {kind} ({status} {code}): {message}",
            code=code,
            kind=kind,
        )


def _check_reference(external_reference: str) -> None:
    if not external_reference or len(external_reference) > doc.MAX_EXTERNAL_REFERENCE:
        msg = (
            f"externalReference must have 1 to {doc.MAX_EXTERNAL_REFERENCE} "
            f"characters, not {len(external_reference)}"
        )
        raise BoltricsRejected(msg, code="ExternalReference", kind="post_message")


def _page_body(response: httpx.Response) -> dict[str, Any]:
    # Parsed once per page, with orjson: a page of 1,000 stock levels is most
    # of a full sync's work in this process.
    try:
        page = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        msg = f"Boltrics answered a page that is not JSON: {exc}"
        raise BoltricsRejected(msg, code="MalformedPage") from exc
    if not isinstance(page, dict):
        msg = "Boltrics answered a page that is not a JSON object"
        raise BoltricsRejected(msg, code="MalformedPage")
    return page


def _page_rows(page: dict[str, Any]) -> list[dict[str, Any]]:
    rows = page.get(doc.PAGE_VALUE)
    if not isinstance(rows, list):
        msg = "Boltrics answered a page without a value list"
        raise BoltricsRejected(msg, code="MalformedPage")
    return rows


def _error_body(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        return "", response.text[:500]


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get(doc.RETRY_AFTER, "1")))
    except ValueError:
        return 1.0


def _maybe_processed(exc: httpx.HTTPError) -> bool:
    """Whether the request may have reached Boltrics although no answer came."""
    return not isinstance(
        exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
    )


def _transport_outcome(exc: httpx.HTTPError) -> str:
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "transport_error"


_STATUS_OUTCOMES = {code: str(code) for code in range(100, 600)}


def _status_outcome(status: int) -> str:
    return _STATUS_OUTCOMES.get(status) or str(status)


@asynccontextmanager
async def _deadline_scope(deadline: float | None, kind: str) -> AsyncIterator[None]:
    """Cancel what runs inside when `deadline` (monotonic) passes."""
    if deadline is None:
        yield
        return

    loop_deadline = asyncio.get_running_loop().time() + (deadline - time.monotonic())
    try:
        async with asyncio.timeout_at(loop_deadline):
            yield
    except TimeoutError as exc:
        msg = f"Boltrics {kind}: the caller's deadline passed"
        raise BoltricsDeadlineExceeded(msg) from exc
