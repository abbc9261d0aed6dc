"""Products: identities, listings, barcodes, the send queue and its messages.

Revision ID: 0003
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the product tables."""
    op.create_table(
        "products",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("external_no", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("in_boltrics", sa.Boolean, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("info", sa.Text, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("products_account_state", "products", ["account_id", "state"])
    op.create_table(
        "product_listings",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(128), primary_key=True),
        sa.Column("source_platform", sa.String(64), primary_key=True),
        sa.Column("shop", sa.String(128), primary_key=True),
        sa.Column("external_no", sa.String(128), nullable=False),
    )
    op.create_index(
        "product_listings_external_no",
        "product_listings",
        ["account_id", "external_no"],
    )
    op.create_table(
        "product_barcodes",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("barcode", sa.String(64), primary_key=True),
        sa.Column("external_no", sa.String(128), primary_key=True),
    )
    op.create_table(
        "product_outbox",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("external_no", sa.String(128), primary_key=True),
        sa.Column("action", sa.String(8), nullable=False),
        _timestamp("queued_at"),
        sa.Column("batch_id", sa.String(36)),
        sa.Column("again", sa.Boolean, nullable=False),
    )
    op.create_index("product_outbox_batch", "product_outbox", ["batch_id"])
    op.create_index(
        "product_outbox_waiting",
        "product_outbox",
        ["account_id", "action", "batch_id", "queued_at"],
    )
    op.create_table(
        "product_batches",
        sa.Column("batch_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _timestamp("due_at"),
        _timestamp("claimed_until", nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message_id", sa.String(64)),
        sa.Column("last_error", sa.Text),
        _timestamp("created_at"),
    )
    op.create_index("product_batches_state_due", "product_batches", ["state", "due_at"])


def downgrade() -> None:
    """Drop them."""
    for table in (
        "product_batches",
        "product_outbox",
        "product_barcodes",
        "product_listings",
        "products",
    ):
        op.drop_table(table)
