"""Stock: Boltrics' figures, the holds of open orders, activation, the cursor.

Revision ID: 0005
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the stock tables."""
    op.create_table(
        "stock_levels",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("external_no", sa.String(128), primary_key=True),
        sa.Column("qty_available", sa.BigInteger),
        sa.Column("qty_in_inventory", sa.BigInteger),
        _timestamp("as_of", nullable=True),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("sellable", sa.BigInteger, nullable=False),
        _timestamp("changed_at"),
    )
    op.create_index(
        "stock_levels_changed", "stock_levels", ["account_id", "changed_at"]
    )
    op.create_table(
        "stock_holds",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(128), primary_key=True),
        sa.Column("external_no", sa.String(128), primary_key=True),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        _timestamp("processed_at", nullable=True),
    )
    op.create_index("stock_holds_item", "stock_holds", ["account_id", "external_no"])
    op.create_table(
        "stock_unknown",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("external_no", sa.String(128), primary_key=True),
        _timestamp("first_seen"),
    )
    op.create_table(
        "stock_accounts",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False),
        _timestamp("activated_at", nullable=True),
        _timestamp("full_sync_at", nullable=True),
    )
    op.create_table(
        "stock_cursor",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the stock tables."""
    for table in (
        "stock_cursor",
        "stock_accounts",
        "stock_unknown",
        "stock_holds",
        "stock_levels",
    ):
        op.drop_table(table)
