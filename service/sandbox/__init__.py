"""The Boltrics sandbox: an emulated Boltrics DI API, as a real HTTP server.

It implements `BOLTRICS-CONTRACT.md` for any number of companies (a company is
created when first named), with state in memory and optionally in a JSON file.
Run it alone with `boltrics-connector sandbox --port N` (or
`python -m service.sandbox`), or inside a running loop::

    async with run_sandbox("127.0.0.1", 0, rate_limit=0) as sandbox:
        sandbox.base_url, sandbox.token_url  # the connection settings

The Boltrics API
----------------
- `POST /oauth2/v2.0/token`: client credentials; accepts only the client ids
  and secrets it was started with (401 `invalid_client` otherwise).
- `{api} = /api/boltrics/di/v1.0/companies({company})`, with `diMessages`
  (POST, GET with `$filter`/`$top`/`$skiptoken`), `diMessages({id})` (GET,
  PATCH with `If-Match`) and `stockLevels` (GET with `$top`, `$skiptoken`,
  `$filter=modifiedAt gt ...`), as in the contract. Next-links carry a
  `$skiptoken`, so paging stays exact while messages change.
- New inbound messages are processed after the process delay: a
  `receiveshipment` fails when a line's item is unknown (naming it) or the
  address has no CountryCode or PostCode, else it becomes a shipment order; a
  `materialmasterdata` INSERT creates items (or updates known ones), an UPDATE
  of an unknown item fails naming it. Nothing is deduplicated.
- The rate limit is a token bucket per company (`rate` a second, bursts of
  `rate`): 429 with a whole-second `Retry-After` beyond it; 0 switches it off.

The control endpoints (`/_sandbox/`, JSON in and out)
-----------------------------------------------------
- `GET /_sandbox/health`; `GET /_sandbox/stats`: `tokensIssued`, `calls` by kind.
- `PUT /_sandbox/rate-limit` `{"perSecond": R}` (0: off).
- `POST /_sandbox/companies/{c}/items` `{"items": [{"externalNo",
  "description", "grossWeight", "eanCode"}]}`: create or change items;
  `GET` the same path lists items with their stock.
- `PUT /_sandbox/companies/{c}/stock` `{"items": [{"externalNo",
  "qtyInInventory"}]}`: set stock in bulk (creates unknown items), no message.
- `POST /_sandbox/companies/{c}/stock/changes` `{"items": [{"externalNo",
  "delta" | "qtyInInventory"}]}`: change stock and send a `stockstatus` with
  those items; answers the message.
- `POST /_sandbox/companies/{c}/shipments` `{"externalReference",
  "shippingAgentCode"?, "shippingAgentName"?, "trackingNumber"?,
  "trackingUrl"?, "trackTraceCode"?, "trackUrlCode"?}`: ship the first
  unshipped order with that reference and send a `sendshipment`; defaults are
  the order's SHIPAGENT and no tracking; 404 if there is no such order.
- `GET /_sandbox/companies/{c}/messages[?direction=&messageType=&status=]`:
  messages with their decoded `xml`.
- `GET /_sandbox/companies/{c}/shipment-orders` (with
  `sharingExternalReference`) and `GET /_sandbox/companies/{c}/duplicates`
  (`shipmentOrdersSharingExternalReference`, which must stay 0).
- `PUT /_sandbox/companies/{c}/faults` `{"kinds": {KIND: {"errorRate",
  "throttleRate", "resetRate", "retryAfter", "latencyMs"}}}` with KIND one of
  `token`, `post_message`, `get_message`, `list_messages`, `patch_message`,
  `stock_levels` or `*`; `{c}` may be `*` for every company (and is the only
  place for `token` faults). Errors answer 503 and throttles 429 without
  processing; resets process the request, then drop the connection. `DELETE`
  the same path removes them.
- `POST /_sandbox/companies/{c}/expire-tokens`: tokens issued so far are
  refused (401) for that company.
- `POST /_sandbox/companies/{c}/process`: process New inbound messages now.

Ids, tokens and injected faults are drawn from generators seeded by `--seed`:
the same sequence of calls gives the same answers.
"""

from service.sandbox.runner import RunningSandbox, build_app, run_sandbox
from service.sandbox.server import Sandbox, SandboxOptions

__all__ = ["RunningSandbox", "Sandbox", "SandboxOptions", "build_app", "run_sandbox"]
