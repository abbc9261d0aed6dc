"""Alembic environment: runs the migrations on the service's async engine.

On PostgreSQL an advisory lock makes replicas that start together migrate one
after the other.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

_LOCK_KEY = 0x426F6C74  # "Bolt"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def _migrate(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as conn:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            await conn.execute(text(f"SELECT pg_advisory_lock({_LOCK_KEY})"))
            await conn.commit()
        await conn.run_sync(_run)
        await conn.commit()
        if postgres:
            await conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_KEY})"))
            await conn.commit()
    await engine.dispose()


asyncio.run(_migrate(context.config.attributes["url"]))
