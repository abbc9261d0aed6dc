"""The store on SQLite and PostgreSQL: migrations and repeat-safe requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from buckles.boltrics.v1 import connector_pb2 as pb
from service.adapters.store.database import Database
from service.adapters.store.request_keys import SqlRequestKeys
from service.errors import InvalidArgument
from service.services.idempotency import StoredAnswer, once_per_request_id


class TestMigrations:
    async def test_open_creates_the_schema(self, any_store_url: str) -> None:
        """Opening a new database migrates it to the newest revision."""
        database = Database(any_store_url)

        await database.open()
        async with database.read() as conn:
            version = (
                await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar()
        await database.close()

        assert version is not None and version >= "0001"

    async def test_a_products_barcodes_are_found_by_its_index(
        self, any_store_url: str
    ) -> None:
        """Replacing a product's barcodes (by account and ExternalNo) goes
        through an index, not a scan of all the account's barcodes."""
        database = Database(any_store_url)

        await database.open()
        async with database.read() as conn:
            if database.is_sqlite:
                plan = await conn.execute(
                    sa.text(
                        "EXPLAIN QUERY PLAN DELETE FROM product_barcodes "
                        "WHERE account_id = 'a' AND external_no IN ('x', 'y')"
                    )
                )
                used = " ".join(str(row[-1]) for row in plan)
            else:
                found = await conn.execute(
                    sa.text(
                        "SELECT indexdef FROM pg_indexes "
                        "WHERE tablename = 'product_barcodes'"
                    )
                )
                used = " ".join(str(row[0]) for row in found)
        await database.close()

        assert "product_barcodes_external_no" in used

    async def test_opening_twice_and_concurrently_is_harmless(
        self, any_store_url: str
    ) -> None:
        """Replicas that start together migrate once and both open."""
        first, second = Database(any_store_url), Database(any_store_url)

        await asyncio.gather(first.open(), second.open())

        assert first.is_open and second.is_open
        await first.close()
        await second.close()


class TestRequestKeys:
    async def test_first_answer_stays(self, any_store_url: str) -> None:
        """A second answer for the same request id does not replace the first."""
        database = Database(any_store_url)
        await database.open()
        keys = SqlRequestKeys(database)

        await keys.put("acme", "r1", StoredAnswer("M", "d1", b"first"))
        await keys.put("acme", "r1", StoredAnswer("M", "d2", b"second"))
        stored = await keys.get("acme", "r1")
        other = await keys.get("globex", "r1")
        await database.close()

        assert stored == StoredAnswer("M", "d1", b"first")
        assert other is None

    async def test_old_request_ids_are_forgotten_in_batches(
        self, any_store_url: str
    ) -> None:
        """Prune forgets every id recorded before the cut-off, past one batch,
        and keeps the later ones."""
        database = Database(any_store_url)
        await database.open()
        keys = SqlRequestKeys(database)
        answer = StoredAnswer("M", "d", b"a")
        for n in range(5_002):
            await keys.put("acme", f"old-{n}", answer)
        cut_off = datetime.now(UTC)
        await keys.put("acme", "new", answer)

        removed = await keys.prune(cut_off)
        old, new = await keys.get("acme", "old-0"), await keys.get("acme", "new")
        await database.close()

        assert removed == 5_002
        assert (old, new) == (None, answer)

    async def test_repeat_gets_the_first_answer_without_running_again(
        self, any_store_url: str
    ) -> None:
        """The same request id twice runs the handler once and answers the same."""
        database = Database(any_store_url)
        await database.open()
        keys = SqlRequestKeys(database)
        runs: list[int] = []
        request = pb.ActivateAccountRequest(account_id="acme", request_id="r-7")

        async def handle() -> pb.ActivateAccountResponse:
            runs.append(1)
            return pb.ActivateAccountResponse(pushed_levels=len(runs))

        first = await once_per_request_id(
            keys, "Activate", request, pb.ActivateAccountResponse, handle
        )
        again = await once_per_request_id(
            keys, "Activate", request, pb.ActivateAccountResponse, handle
        )
        await database.close()

        assert runs == [1]
        assert again == first

    async def test_reused_request_id_for_other_request_is_refused(
        self, any_store_url: str
    ) -> None:
        """A request id reused for another request is INVALID_ARGUMENT on request_id."""
        database = Database(any_store_url)
        await database.open()
        keys = SqlRequestKeys(database)

        async def handle() -> pb.ActivateAccountResponse:
            return pb.ActivateAccountResponse()

        await once_per_request_id(
            keys,
            "Activate",
            pb.ActivateAccountRequest(account_id="acme", request_id="r"),
            pb.ActivateAccountResponse,
            handle,
        )
        with pytest.raises(InvalidArgument) as caught:
            await once_per_request_id(
                keys,
                "Retry",
                pb.ActivateAccountRequest(account_id="acme", request_id="r"),
                pb.ActivateAccountResponse,
                handle,
            )
        await database.close()

        assert [v.field for v in caught.value.violations] == ["request_id"]
