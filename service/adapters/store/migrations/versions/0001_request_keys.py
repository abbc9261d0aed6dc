"""Idempotency keys of mutations (AIP-155).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the table of request ids and their answers."""
    op.create_table(
        "request_keys",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("request_keys_created_at", "request_keys", ["created_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_table("request_keys")
