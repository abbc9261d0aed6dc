"""The sandbox's own endpoints under `/_sandbox/`: drive it, break it, inspect it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from service.adapters.boltrics import documents as doc
from service.sandbox.faults import ANY, FaultSettings
from service.sandbox.server import (
    CONTROL_ROOT,
    SANDBOX_KEY,
    Sandbox,
    error_response,
    json_response,
    message_view,
    order_view,
    read_json,
)
from service.sandbox.state import Company


def _context(request: web.Request) -> tuple[Sandbox, Company]:
    sandbox = request.app[SANDBOX_KEY]
    return sandbox, sandbox.companies.get(request.match_info["company"])


async def _items_of(request: web.Request) -> list[Mapping[str, Any]] | None:
    body = await read_json(request)
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and "externalNo" in item for item in items
    ):
        return None
    return items


async def health(request: web.Request) -> web.StreamResponse:
    """GET /_sandbox/health."""
    return json_response({"status": "ok"})


async def stats(request: web.Request) -> web.StreamResponse:
    """GET /_sandbox/stats: tokens issued and calls by kind."""
    sandbox = request.app[SANDBOX_KEY]
    return json_response(
        {"tokensIssued": sandbox.tokens_issued, "calls": sandbox.calls}
    )


async def put_items(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/companies/{company}/items: create or change items."""
    sandbox, company = _context(request)
    items = await _items_of(request)
    if items is None:
        return error_response(
            400, "BadRequest", 'Send {"items": [{"externalNo": ...}]}.'
        )
    for item in items:
        company.upsert_item(
            str(item["externalNo"]),
            description=str(item.get("description", "")),
            gross_weight=item.get("grossWeight"),
            ean_code=item.get("eanCode"),
        )
    sandbox.mark_changed()
    return json_response({"count": len(items)})


async def get_items(request: web.Request) -> web.StreamResponse:
    """GET /_sandbox/companies/{company}/items: items with their stock."""
    _, company = _context(request)
    rows = [
        {
            **company.stock_row(item),
            "description": item.description,
            "eanCode": item.ean_code,
            "grossWeight": item.gross_weight,
        }
        for item in company.items.values()
    ]
    return json_response({"value": rows})


async def set_stock(request: web.Request) -> web.StreamResponse:
    """PUT /_sandbox/companies/{company}/stock: set stock in bulk, no message."""
    from datetime import UTC, datetime

    sandbox, company = _context(request)
    items = await _items_of(request)
    if items is None:
        return error_response(
            400, "BadRequest", 'Send {"items": [{"externalNo", "qtyInInventory"}]}.'
        )
    moment = datetime.now(UTC)
    for item in items:
        company.set_stock(
            str(item["externalNo"]), int(item.get("qtyInInventory", 0)), moment
        )
    sandbox.mark_changed()
    return json_response({"count": len(items)})


async def change_stock(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/companies/{company}/stock/changes: send a stockstatus."""
    sandbox, company = _context(request)
    items = await _items_of(request)
    if items is None or not items:
        return error_response(
            400, "BadRequest", 'Send {"items": [{"externalNo", "delta"}]}.'
        )
    message = sandbox.change_stock(company, items)
    return json_response(message_view(message), 201)


async def ship(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/companies/{company}/shipments: ship, send sendshipment."""
    sandbox, company = _context(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not body.get("externalReference"):
        return error_response(400, "BadRequest", 'Send {"externalReference": ...}.')
    message = sandbox.ship(company, body)
    if message is None:
        return error_response(
            404, "NotFound", "No unshipped shipment order has that reference."
        )
    return json_response(message_view(message), 201)


async def messages(request: web.Request) -> web.StreamResponse:
    """GET /_sandbox/companies/{company}/messages[?direction=&messageType=&status=]."""
    _, company = _context(request)
    wanted = {
        name: request.query[name]
        for name in (doc.FIELD_DIRECTION, doc.FIELD_MESSAGE_TYPE, doc.FIELD_STATUS)
        if name in request.query
    }
    found = company.find_messages(wanted, 0, len(company.messages) + 1)
    return json_response({"value": [message_view(m) for m in found]})


async def shipment_orders(request: web.Request) -> web.StreamResponse:
    """GET /_sandbox/companies/{company}/shipment-orders."""
    _, company = _context(request)
    return json_response(
        {
            "value": [order_view(order) for order in company.orders],
            "sharingExternalReference": company.orders_sharing_reference(),
        }
    )


async def duplicates(request: web.Request) -> web.StreamResponse:
    """GET /_sandbox/companies/{company}/duplicates: orders sharing a reference."""
    _, company = _context(request)
    return json_response(
        {"shipmentOrdersSharingExternalReference": company.orders_sharing_reference()}
    )


async def set_faults(request: web.Request) -> web.StreamResponse:
    """PUT /_sandbox/companies/{company}/faults (company `*`: all companies)."""
    sandbox = request.app[SANDBOX_KEY]
    company_id = request.match_info["company"]
    body = await read_json(request)
    kinds = body.get("kinds") if isinstance(body, dict) else None
    if not isinstance(kinds, dict):
        return error_response(
            400, "BadRequest", 'Send {"kinds": {"post_message": {...}}}.'
        )
    try:
        settings = {
            kind: FaultSettings.from_json(value) for kind, value in kinds.items()
        }
    except (ValueError, TypeError, AttributeError) as exc:
        return error_response(400, "BadRequest", str(exc))
    sandbox.faults.set(company_id, settings)
    return json_response(
        {"kinds": {kind: value.to_json() for kind, value in settings.items()}}
    )


async def clear_faults(request: web.Request) -> web.StreamResponse:
    """DELETE /_sandbox/companies/{company}/faults."""
    request.app[SANDBOX_KEY].faults.clear(request.match_info["company"])
    return json_response({"kinds": {}})


async def expire_tokens(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/companies/{company}/expire-tokens."""
    sandbox, company = _context(request)
    sandbox.expire_tokens(company)
    return json_response({"expired": True})


async def process(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/companies/{company}/process: process New inbound messages now."""
    sandbox, company = _context(request)
    return json_response({"processed": sandbox.process_now(company)})


async def set_rate_limit(request: web.Request) -> web.StreamResponse:
    """PUT /_sandbox/rate-limit: `{"perSecond": R}`, 0 switches it off."""
    sandbox = request.app[SANDBOX_KEY]
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("perSecond"), int | float):
        return error_response(400, "BadRequest", 'Send {"perSecond": 20}.')
    sandbox.rate_gate.rate = float(body["perSecond"])
    return json_response({"perSecond": sandbox.rate_gate.rate})


def add_control_routes(app: web.Application) -> None:
    """The routes under /_sandbox/."""
    company = CONTROL_ROOT + "/companies/{company}"
    app.router.add_get(CONTROL_ROOT + "/health", health)
    app.router.add_get(CONTROL_ROOT + "/stats", stats)
    app.router.add_put(CONTROL_ROOT + "/rate-limit", set_rate_limit)
    app.router.add_post(company + "/items", put_items)
    app.router.add_get(company + "/items", get_items)
    app.router.add_put(company + "/stock", set_stock)
    app.router.add_post(company + "/stock/changes", change_stock)
    app.router.add_post(company + "/shipments", ship)
    app.router.add_get(company + "/messages", messages)
    app.router.add_get(company + "/shipment-orders", shipment_orders)
    app.router.add_get(company + "/duplicates", duplicates)
    app.router.add_put(company + "/faults", set_faults)
    app.router.add_delete(company + "/faults", clear_faults)
    app.router.add_post(company + "/expire-tokens", expire_tokens)
    app.router.add_post(company + "/process", process)


__all__ = ["ANY", "add_control_routes"]
