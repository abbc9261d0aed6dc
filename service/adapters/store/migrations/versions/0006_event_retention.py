"""Retention: how far old events have been removed.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    """Create the table that remembers the newest event id removed."""
    op.create_table(
        "event_retention",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("pruned_through", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("event_retention")
