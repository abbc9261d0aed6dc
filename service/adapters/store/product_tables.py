"""The product tables, as SQLAlchemy Core sees them (migration 0003 owns the DDL).

- `products`: one row per Boltrics product (ExternalNo) of an account; the
  product information is JSON, its state in Boltrics plain columns, so that
  the sender changes states in bulk without rewriting JSON.
- `product_listings`: every channel, shop and Buckles product id, and the
  ExternalNo it is linked to.
- `product_barcodes`: which ExternalNos carry a barcode (to warn about, or link
  by, the same barcode under another SKU).
- `product_outbox`: products that must go to Boltrics; `batch_id` is set while
  a message carries them, `again` when they changed meanwhile.
- `product_batches`: one row per `materialmasterdata` message, with the items it
  carries, its claim, its attempts and Boltrics' message id.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.adapters.store.tables import UtcDateTime, metadata

products = sa.Table(
    "products",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("external_no", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("in_boltrics", sa.Boolean, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("info", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

product_listings = sa.Table(
    "product_listings",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("product_id", sa.String(128), primary_key=True),
    sa.Column("source_platform", sa.String(64), primary_key=True),
    sa.Column("shop", sa.String(128), primary_key=True),
    sa.Column("external_no", sa.String(128), nullable=False),
)

product_barcodes = sa.Table(
    "product_barcodes",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("barcode", sa.String(64), primary_key=True),
    sa.Column("external_no", sa.String(128), primary_key=True),
)

product_outbox = sa.Table(
    "product_outbox",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("external_no", sa.String(128), primary_key=True),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("queued_at", UtcDateTime(), nullable=False),
    sa.Column("batch_id", sa.String(36)),
    sa.Column("again", sa.Boolean, nullable=False),
)

product_batches = sa.Table(
    "product_batches",
    metadata,
    sa.Column("batch_id", sa.String(36), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("reference", sa.String(100), nullable=False),
    sa.Column("items", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("due_at", UtcDateTime(), nullable=False),
    sa.Column("claimed_until", UtcDateTime()),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("message_id", sa.String(64)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
