"""The tables, as SQLAlchemy Core sees them (the migrations own the DDL)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

request_keys = sa.Table(
    "request_keys",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("method", sa.String(64), nullable=False),
    sa.Column("request_digest", sa.String(64), nullable=False),
    sa.Column("response", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
