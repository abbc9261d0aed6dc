"""The shipment table, as SQLAlchemy Core sees it (migration 0004 owns the DDL).

`shipments` holds every shipment confirmation the connector received, however
it ended:

- `applied`: the order was known and is marked shipped; `result` is the
  shipment result.
- `unknown_order`: no such order (yet); `result` says so, `confirmation` keeps
  what is needed to apply it if the order turns up.
- `rejected`: the document could not be used; `reason` says why.

A usable confirmation is known by account, order id and Boltrics' shipment
number (a partial unique index, since rejected documents may lack both); a
collected one also by its Boltrics message id.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.adapters.store.tables import UtcDateTime, metadata

_BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(128), nullable=False),
    sa.Column("shipment_no", sa.String(128), nullable=False),
    sa.Column("message_id", sa.String(64)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("confirmation", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

#: The predicate of the partial unique index on a usable confirmation's key.
USABLE = shipments.c.outcome != "rejected"
