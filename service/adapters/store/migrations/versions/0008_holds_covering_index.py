"""Stock holds: an index that answers the level's holds by itself.

Settling a level adds up the quantities its open orders hold and reads its
processed holds. The old index by account and ExternalNo found the rows but
left every one to be fetched from the table; with a backlog of open orders
on one item (Boltrics slow or away), each new order's settle did that for
every order before it. This index carries what both queries read, so they
run on it alone, open holds and processed ones apart.

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = "0007"

_COLUMNS = ["account_id", "external_no", "processed_at", "quantity", "order_id"]


def upgrade() -> None:
    """Replace the holds' item index by a covering one."""
    op.create_index("stock_holds_item_state", "stock_holds", _COLUMNS)
    op.drop_index("stock_holds_item", table_name="stock_holds")


def downgrade() -> None:
    """Restore the item index."""
    op.create_index("stock_holds_item", "stock_holds", ["account_id", "external_no"])
    op.drop_index("stock_holds_item_state", table_name="stock_holds")
