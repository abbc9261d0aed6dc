"""Shipments: every confirmation received, with its outcome and result.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_USABLE = sa.text("outcome <> 'rejected'")


def upgrade() -> None:
    """Create the shipment table and its keys."""
    op.create_table(
        "shipments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("shipment_no", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(64)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("confirmation", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "shipments_confirmation",
        "shipments",
        ["account_id", "order_id", "shipment_no"],
        unique=True,
        sqlite_where=_USABLE,
        postgresql_where=_USABLE,
    )
    op.create_index(
        "shipments_message", "shipments", ["account_id", "message_id"], unique=True
    )
    op.create_index("shipments_outcome", "shipments", ["outcome"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("shipments")
