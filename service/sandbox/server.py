"""The sandbox's HTTP server: the Boltrics API of the contract, plus `/_sandbox/`."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from service.adapters.boltrics import documents as doc
from service.adapters.boltrics.errors import DocumentError
from service.logging import get_logger
from service.sandbox.faults import (
    ANY,
    Fault,
    FaultPlan,
    FaultSettings,
    RateGate,
    retry_after_header,
)
from service.sandbox.state import Companies, Company, StoredMessage, today

logger = get_logger(__name__)

API_ROOT = "/api/boltrics/di/v1.0"
TOKEN_PATH = "/oauth2/v2.0/token"  # noqa: S105 - a URL path, no secret
CONTROL_ROOT = "/_sandbox"
TOKEN_LIFETIME_SECONDS = 3599
SAVE_INTERVAL_SECONDS = 1.0
SANDBOX_PARTNER = "WH01"
CONNECTOR_PARTNER = "BUCKLES"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class SandboxOptions:
    """How a sandbox behaves; every field has a setting of the CLI."""

    clients: Mapping[str, str] = field(default_factory=lambda: {"sandbox": "sandbox"})
    rate_limit: float = 20.0
    process_delay: float = 0.5
    seed: int = 0
    state_file: Path | None = None
    token_lifetime: float = TOKEN_LIFETIME_SECONDS


@dataclass
class _Token:
    client_id: str
    seq: int
    expires_at: float


class Sandbox:
    """The emulated Boltrics: companies, tokens, faults, and delayed processing."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.companies = Companies()
        self.faults = FaultPlan(options.seed)
        self.rate_gate = RateGate(options.rate_limit)
        self.calls: dict[str, int] = {}
        self.tokens_issued = 0
        self._random = random.Random(options.seed)
        self._tokens: dict[str, _Token] = {}
        self._pending: deque[tuple[float, Company, StoredMessage]] = deque()
        self._wake = asyncio.Event()
        self._dirty = False
        if options.state_file is not None:
            self.companies.load(options.state_file)

    # --- tokens ------------------------------------------------------------

    def issue_token(self, client_id: str, secret: str) -> str | None:
        """A new token for a known client id and secret; None otherwise."""
        if self.options.clients.get(client_id) != secret:
            return None
        self.tokens_issued += 1
        value = uuid.UUID(int=self._random.getrandbits(128)).hex
        expires_at = time.monotonic() + self.options.token_lifetime
        self._tokens[value] = _Token(client_id, self.tokens_issued, expires_at)
        return value

    def token_valid(self, value: str, company: Company) -> bool:
        """Whether a bearer token is known, unexpired and not expired by a fault."""
        token = self._tokens.get(value)
        if token is None or token.expires_at <= time.monotonic():
            return False
        return token.seq > company.tokens_not_before

    def expire_tokens(self, company: Company) -> None:
        """Make every token issued so far invalid for this company."""
        company.tokens_not_before = self.tokens_issued

    # --- messages ----------------------------------------------------------

    def new_id(self) -> str:
        """A GUID, deterministic under the seed."""
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def add_message(
        self,
        company: Company,
        message_type: str,
        direction: str,
        external_reference: str,
        content: str,
    ) -> StoredMessage:
        """Store a New message; an Inbound one is queued for processing."""
        message = StoredMessage(
            seq=self.companies.next_seq(),
            id=self.new_id(),
            message_type=message_type,
            direction=direction,
            status=doc.MessageStatus.NEW,
            external_reference=external_reference,
            content=content,
            created_at=doc.format_timestamp(datetime.now(UTC)),
        )
        company.add_message(message)
        self._dirty = True
        if direction == doc.Direction.INBOUND:
            due = time.monotonic() + self.options.process_delay
            self._pending.append((due, company, message))
            self._wake.set()
        return message

    def process_now(self, company: Company) -> int:
        """Process every New inbound message of a company at once."""
        count = 0
        for message in list(company.messages.values()):
            if message.direction == doc.Direction.INBOUND and message.status == "New":
                company.process(message)
                count += 1
        self._dirty = True
        return count

    async def run_processing(self) -> None:
        """Process queued messages when their delay has passed; runs until cancelled."""
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, company, message = self._pending[0]
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._pending.popleft()
            company.process(message)
            self._dirty = True
            if len(self._pending) % 256 == 0:
                await asyncio.sleep(0)  # let requests in during a long backlog

    async def run_saving(self, path: Path) -> None:
        """Save the state to `path` every second while it changes."""
        while True:
            await asyncio.sleep(SAVE_INTERVAL_SECONDS)
            self.save_if_changed(path)

    def mark_changed(self) -> None:
        """Note that the state changed, so that the next save writes it."""
        self._dirty = True

    def save_if_changed(self, path: Path) -> None:
        """Write the state if anything changed since the last save."""
        if self._dirty:
            self._dirty = False
            self.companies.save(path)

    # --- shipping and stock ------------------------------------------------

    def ship(
        self, company: Company, request: Mapping[str, Any]
    ) -> StoredMessage | None:
        """Ship the open order with the request's externalReference, as sendshipment."""
        order = company.open_order(str(request.get("externalReference", "")))
        if order is None:
            return None
        company.ship(order)
        attributes = {
            str(request.get("trackTraceCode", doc.ATTRIBUTE_TRACK_TRACE)): request.get(
                "trackingNumber"
            ),
            str(request.get("trackUrlCode", doc.ATTRIBUTE_TRACK_URL)): request.get(
                "trackingUrl"
            ),
        }
        agent = request.get("shippingAgentCode") or order.shipping_agent or "DEFAULT"
        confirmation = doc.ShipmentConfirmation(
            header=doc.Header.new(SANDBOX_PARTNER, CONNECTOR_PARTNER),
            no=company.next_shipment_no(),
            external_document_no=order.external_document_no,
            external_reference=order.external_reference,
            posting_date=today(),
            lines=tuple(doc.ShippedLine(no, Decimal(qty)) for no, qty in order.lines),
            shipping_agent_code=str(agent),
            shipping_agent_name=request.get("shippingAgentName") or str(agent),
            attributes={
                code: str(value) for code, value in attributes.items() if value
            },
        )
        return self._outbound(
            company,
            doc.MessageType.SEND_SHIPMENT,
            order.external_reference,
            doc.build_shipment_confirmation(confirmation),
        )

    def change_stock(
        self, company: Company, changes: list[Mapping[str, Any]]
    ) -> StoredMessage:
        """Apply stock changes (`delta` or `qtyInInventory`) and send a stockstatus."""
        moment = datetime.now(UTC)
        items = []
        for change in changes:
            external_no = str(change["externalNo"])
            current = company.items.get(external_no)
            on_hand = current.qty_in_inventory if current else 0
            quantity = int(
                change.get("qtyInInventory", on_hand + int(change.get("delta", 0)))
            )
            item = company.set_stock(external_no, quantity, moment)
            items.append(
                doc.StockStatusItem(
                    external_no=external_no,
                    qty_in_inventory=Decimal(item.qty_in_inventory),
                    qty_available=Decimal(company.available(item)),
                    description=item.description,
                )
            )
        status = doc.StockStatus(
            header=doc.Header.new(SANDBOX_PARTNER, CONNECTOR_PARTNER, now=moment),
            items=tuple(items),
        )
        reference = (
            f"STOCK-{moment.strftime('%Y%m%d%H%M%S')}-{company.next_shipment_no()}"
        )
        return self._outbound(
            company,
            doc.MessageType.STOCK_STATUS,
            reference,
            doc.build_stock_status(status),
        )

    def _outbound(
        self, company: Company, message_type: str, reference: str, xml: bytes
    ) -> StoredMessage:
        return self.add_message(
            company,
            message_type,
            doc.Direction.OUTBOUND,
            reference,
            doc.encode_content(xml),
        )


# --- HTTP: helpers -----------------------------------------------------------


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_response(
    status: int, code: str, message: str, **headers: str
) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


async def read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        return None


SANDBOX_KEY = web.AppKey("sandbox", Sandbox)


def _sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


# --- HTTP: the Boltrics API --------------------------------------------------


def api_call(kind: str) -> Callable[[Handler], Handler]:
    """Wrap an API handler with latency, auth, rate limit and injected faults."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            sandbox = _sandbox(request)
            company = sandbox.companies.get(request.match_info["company"])
            sandbox.calls[kind] = sandbox.calls.get(kind, 0) + 1
            settings = sandbox.faults.settings(company.company_id, kind)
            if settings.latency > 0:
                await asyncio.sleep(settings.latency)

            refused = _refuse(request, sandbox, company)
            if refused is not None:
                return refused

            fault = sandbox.faults.draw(company.company_id, kind, settings)
            if fault is Fault.THROTTLE or fault is Fault.ERROR:
                return _injected(fault, settings)
            response = await handler(request)
            if fault is Fault.RESET:
                _reset(request)
            return response

        return guarded

    return wrap


def _refuse(
    request: web.Request, sandbox: Sandbox, company: Company
) -> web.Response | None:
    """The 401 or the 429 of the rate limit that stops a call, if any."""
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith("Bearer ") or not sandbox.token_valid(
        authorization[7:], company
    ):
        return error_response(
            401, "Unauthorized", "The token is missing, unknown or expired."
        )

    wait = sandbox.rate_gate.admit(company.company_id)
    if wait is not None:
        sandbox.calls["rate_limited"] = sandbox.calls.get("rate_limited", 0) + 1
        retry_after = str(math.ceil(wait))
        return error_response(
            429,
            "TooManyRequests",
            "Rate limit exceeded.",
            **{"Retry-After": retry_after},
        )
    return None


def _injected(fault: Fault, settings: FaultSettings) -> web.Response:
    """The answer of an injected 429 or 5xx; the request is not processed."""
    if fault is Fault.THROTTLE:
        retry_after = retry_after_header(settings.retry_after)
        return error_response(
            429, "TooManyRequests", "Injected throttle.", **{"Retry-After": retry_after}
        )
    return error_response(503, "ServiceUnavailable", "Injected fault.")


def _reset(request: web.Request) -> None:
    """Drop the connection without an answer, after the request was processed."""
    transport = request.transport
    if transport is not None:
        transport.abort()


@api_call("post_message")
async def post_message(request: web.Request) -> web.StreamResponse:
    """POST diMessages: store a New message."""
    sandbox = _sandbox(request)
    company = sandbox.companies.get(request.match_info["company"])
    body = await read_json(request)
    if not isinstance(body, dict):
        return error_response(400, "BadRequest", "The body is not a JSON object.")

    message_type = body.get(doc.FIELD_MESSAGE_TYPE)
    reference = body.get(doc.FIELD_EXTERNAL_REFERENCE)
    content = body.get(doc.FIELD_CONTENT)
    problem = _post_problem(message_type, reference, content)
    if problem is not None:
        return error_response(400, "BadRequest", problem)

    message = sandbox.add_message(
        company, str(message_type), doc.Direction.INBOUND, str(reference), str(content)
    )
    return json_response(message.resource(), 201)


def _post_problem(message_type: Any, reference: Any, content: Any) -> str | None:
    if message_type not in doc.INBOUND_TYPES:
        return f"messageType {message_type!r} cannot be sent to Boltrics."
    if (
        not isinstance(reference, str)
        or not 0 < len(reference) <= doc.MAX_EXTERNAL_REFERENCE
    ):
        limit = doc.MAX_EXTERNAL_REFERENCE
        return f"externalReference must be text of 1 to {limit} characters."
    if not isinstance(content, str):
        return "content must be base64 text."
    try:
        doc.decode_content(content)
    except DocumentError:
        return "content is not valid base64."
    return None


@api_call("get_message")
async def get_message(request: web.Request) -> web.StreamResponse:
    """GET diMessages(id)."""
    company = _sandbox(request).companies.get(request.match_info["company"])
    message = company.messages.get(request.match_info["id"])
    if message is None:
        return error_response(
            404, "NotFound", f"diMessage {request.match_info['id']} does not exist."
        )
    return json_response(message.resource())


@api_call("list_messages")
async def list_messages(request: web.Request) -> web.StreamResponse:
    """GET diMessages with $filter, $top and $skiptoken."""
    company = _sandbox(request).companies.get(request.match_info["company"])
    try:
        top = _top(request, doc.MAX_MESSAGE_PAGE)
        conditions = _message_conditions(request.query.get(doc.QUERY_FILTER, ""))
        after = int(request.query.get(doc.QUERY_SKIP_TOKEN, "0"))
    except ValueError as exc:
        return error_response(400, "BadRequest", str(exc))

    found = company.find_messages(conditions, after, top + 1)
    page = found[:top]
    next_token = str(page[-1].seq) if len(found) > top else None
    return _page(request, [m.resource() for m in page], next_token)


def _top(request: web.Request, maximum: int) -> int:
    top = int(request.query.get(doc.QUERY_TOP, str(maximum)))
    if not 0 < top <= maximum:
        msg = f"$top must lie between 1 and {maximum}."
        raise ValueError(msg)
    return top


def _message_conditions(text: str) -> dict[str, str]:
    if not text:
        return {}
    conditions = {}
    for name, operator, value in doc.parse_filter(text):
        if name not in doc.MESSAGE_FILTER_FIELDS or operator != "eq":
            msg = f"cannot filter diMessages on {name} {operator}."
            raise ValueError(msg)
        conditions[name] = value
    return conditions


def _page(
    request: web.Request, rows: list[dict[str, Any]], next_token: str | None
) -> web.Response:
    page: dict[str, Any] = {doc.PAGE_VALUE: rows}
    if next_token is not None:
        page[doc.PAGE_NEXT_LINK] = str(
            request.url.update_query({doc.QUERY_SKIP_TOKEN: next_token})
        )
    return json_response(page)


@api_call("patch_message")
async def patch_message(request: web.Request) -> web.StreamResponse:
    """PATCH diMessages(id) with If-Match: acknowledge an Outbound message."""
    company = _sandbox(request).companies.get(request.match_info["company"])
    message = company.messages.get(request.match_info["id"])
    if message is None:
        return error_response(
            404, "NotFound", f"diMessage {request.match_info['id']} does not exist."
        )
    if request.headers.get(doc.IF_MATCH) not in (message.etag, "*"):
        return error_response(
            412, "PreconditionFailed", "The etag does not match; read again."
        )

    body = await read_json(request)
    if (
        not isinstance(body, dict)
        or body.get(doc.FIELD_STATUS) != doc.MessageStatus.PROCESSED
    ):
        return error_response(400, "BadRequest", "Only status Processed may be set.")
    if message.direction != doc.Direction.OUTBOUND:
        return error_response(
            400, "BadRequest", "Only Outbound messages are acknowledged."
        )

    message.set_status(doc.MessageStatus.PROCESSED)
    return json_response(message.resource())


@api_call("stock_levels")
async def stock_levels(request: web.Request) -> web.StreamResponse:
    """GET stockLevels with $top, $skiptoken and `modifiedAt gt`."""
    company = _sandbox(request).companies.get(request.match_info["company"])
    try:
        top = _top(request, doc.MAX_STOCK_PAGE)
        modified_after = _modified_after(request.query.get(doc.QUERY_FILTER, ""))
    except (ValueError, DocumentError) as exc:
        return error_response(400, "BadRequest", str(exc))

    after = request.query.get(doc.QUERY_SKIP_TOKEN)
    found = company.stock_page(after, top + 1, modified_after)
    page = found[:top]
    next_token = page[-1].external_no if len(found) > top else None
    return _page(request, [company.stock_row(item) for item in page], next_token)


def _modified_after(text: str) -> datetime | None:
    if not text:
        return None
    conditions = doc.parse_filter(text)
    if len(conditions) != 1 or conditions[0][:2] != (doc.FIELD_MODIFIED_AT, "gt"):
        msg = "stockLevels can only be filtered on modifiedAt gt."
        raise ValueError(msg)
    return doc.parse_timestamp(conditions[0][2])


async def token(request: web.Request) -> web.StreamResponse:
    """POST the token URL: OAuth2 client credentials."""
    sandbox = _sandbox(request)
    sandbox.calls["token"] = sandbox.calls.get("token", 0) + 1
    settings = sandbox.faults.settings(ANY, "token")
    if settings.latency > 0:
        await asyncio.sleep(settings.latency)
    fault = sandbox.faults.draw(ANY, "token", settings)
    if fault is Fault.THROTTLE or fault is Fault.ERROR:
        return _injected(fault, settings)

    form = await request.post()
    if form.get("grant_type") != doc.TOKEN_GRANT_TYPE:
        return json_response(
            {
                "error": "unsupported_grant_type",
                "error_description": "Use client_credentials.",
            },
            400,
        )
    value = sandbox.issue_token(
        str(form.get("client_id", "")), str(form.get("client_secret", ""))
    )
    if value is None:
        description = "The client id or secret is not known to this sandbox."
        return json_response(
            {"error": "invalid_client", "error_description": description}, 401
        )

    return json_response(
        {
            "access_token": value,
            "token_type": "Bearer",
            "expires_in": sandbox.options.token_lifetime,
        }
    )


def add_api_routes(app: web.Application) -> None:
    """The routes of the contract."""
    company = API_ROOT + doc.COMPANY_PATH.format(company_id="{company}")
    message = company + doc.MESSAGE_PATH.format(message_id="{id}")
    app.router.add_post(TOKEN_PATH, token)
    app.router.add_post(company + doc.MESSAGES_PATH, post_message)
    app.router.add_get(company + doc.MESSAGES_PATH, list_messages)
    app.router.add_get(message, get_message)
    app.router.add_patch(message, patch_message)
    app.router.add_get(company + doc.STOCK_LEVELS_PATH, stock_levels)


def message_view(message: StoredMessage) -> dict[str, Any]:
    """A message as the control endpoints show it: the resource and its XML."""
    view = message.resource()
    view["xml"] = doc.decode_content(message.content).decode("utf-8", "replace")
    return view


def order_view(order: Any) -> dict[str, Any]:
    """A shipment order as the control endpoints show it."""
    data: dict[str, Any] = asdict(order)
    return data
