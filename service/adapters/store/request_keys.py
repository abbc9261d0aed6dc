"""The store of idempotency keys: a request id and the answer it got."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from service.adapters.store.database import Database
from service.adapters.store.tables import request_keys
from service.services.idempotency import StoredAnswer


class SqlRequestKeys:
    """Request ids and their answers, in the SQL store."""

    def __init__(self, database: Database):
        self._database = database

    async def get(self, account_id: str, request_id: str) -> StoredAnswer | None:
        """The answer recorded for this request id, if any."""
        query = sa.select(
            request_keys.c.method,
            request_keys.c.request_digest,
            request_keys.c.response,
        ).where(
            request_keys.c.account_id == account_id,
            request_keys.c.request_id == request_id,
        )
        async with self._database.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return StoredAnswer(row.method, row.request_digest, row.response)

    async def put(
        self,
        account_id: str,
        request_id: str,
        answer: StoredAnswer,
    ) -> None:
        """Record an answer; the first answer recorded for a request id stays."""
        values = {
            "account_id": account_id,
            "request_id": request_id,
            "method": answer.method,
            "request_digest": answer.request_digest,
            "response": answer.response,
            "created_at": datetime.now(UTC),
        }
        dialect = sqlite if self._database.is_sqlite else postgresql
        statement = dialect.insert(request_keys).values(values).on_conflict_do_nothing()
        async with self._database.write() as conn:
            await conn.execute(statement)

    async def prune(self, before: datetime) -> int:
        """Forget the request ids recorded before `before`; how many."""
        removed = 0
        while True:
            async with self._database.write() as conn:
                result = await conn.execute(_PRUNE, {"before": before})
            removed += result.rowcount
            if result.rowcount < _PRUNE_BATCH:
                return removed


_PRUNE_BATCH = 5_000
_KEY = sa.tuple_(request_keys.c.account_id, request_keys.c.request_id)
_PRUNE = request_keys.delete().where(
    _KEY.in_(
        sa.select(request_keys.c.account_id, request_keys.c.request_id)
        .where(
            request_keys.c.created_at
            < sa.bindparam("before", type_=request_keys.c.created_at.type)
        )
        .limit(_PRUNE_BATCH)
    )
)
