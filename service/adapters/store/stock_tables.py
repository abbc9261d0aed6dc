"""The stock tables, as SQLAlchemy Core sees them (migration 0005 owns the DDL).

- `stock_levels`: per account and ExternalNo, Boltrics' newest figures (none
  yet when only orders hold it), the reserved quantity and sellable level
  last computed, and when the sellable level last changed.
- `stock_holds`: what each accepted order holds per ExternalNo, and when the
  connector learnt that Boltrics processed it.
- `stock_unknown`: ExternalNos Boltrics reported that are no known product
  (logged once, when first seen).
- `stock_accounts`: whether the stock link of an account is active, and when
  its last full synchronisation started.
- `stock_cursor`: how far the projector has read the event log.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.adapters.store.tables import UtcDateTime, metadata

_BigInt = sa.BigInteger().with_variant(sa.Integer, "sqlite")

stock_levels = sa.Table(
    "stock_levels",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("external_no", sa.String(128), primary_key=True),
    sa.Column("qty_available", sa.BigInteger),
    sa.Column("qty_in_inventory", sa.BigInteger),
    sa.Column("as_of", UtcDateTime()),
    sa.Column("reserved", sa.BigInteger, nullable=False),
    sa.Column("sellable", sa.BigInteger, nullable=False),
    sa.Column("changed_at", UtcDateTime(), nullable=False),
)

stock_holds = sa.Table(
    "stock_holds",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(128), primary_key=True),
    sa.Column("external_no", sa.String(128), primary_key=True),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("processed_at", UtcDateTime()),
)

stock_unknown = sa.Table(
    "stock_unknown",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("external_no", sa.String(128), primary_key=True),
    sa.Column("first_seen", UtcDateTime(), nullable=False),
)

stock_accounts = sa.Table(
    "stock_accounts",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("activated_at", UtcDateTime()),
    sa.Column("full_sync_at", UtcDateTime()),
)

stock_cursor = sa.Table(
    "stock_cursor",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("position", _BigInt, nullable=False),
)
