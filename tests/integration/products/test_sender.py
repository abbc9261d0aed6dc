"""The product sender against the sandbox: batching, exactly once, verdicts."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from service.adapters.boltrics import BoltricsGateway
from service.adapters.store.product_tables import product_batches
from service.domain.products import ChannelProduct, ProductState
from tests.integration.boltrics.conftest import Control
from tests.integration.products.conftest import ACCOUNT, Harness, product


def catalogue(count: int) -> list[ChannelProduct]:
    """`count` distinct products with SKUs and no barcodes."""
    return [
        product(product_id=f"p-{n}", sku=f"SKU-{n:05d}", barcodes=(), name=f"Item {n}")
        for n in range(count)
    ]


def item_counts(messages: list[dict[str, Any]]) -> list[int]:
    """How many CustomerItems each message carries."""
    return [message["xml"].count("<CustomerItem>") for message in messages]


class SimulatedCrash(BaseException):
    """The process dies: nothing after it runs (a stand-in for SIGKILL)."""


class CrashAfterPost:
    """A gateway whose process dies right after Boltrics took a post."""

    def __init__(self, inner: BoltricsGateway):
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, *args: Any, **kwargs: Any) -> Any:
        """Post, then die before the post is recorded."""
        await self._inner.submit(*args, **kwargs)
        raise SimulatedCrash


class TestBatching:
    """Creates and updates go in messages of up to 500 items."""

    async def test_twelve_hundred_products_make_three_messages(
        self, harness: Harness
    ) -> None:
        """A sync of 1,200 new products is posted as 500 + 500 + 200 items."""
        service = harness.service()

        await service.sync(ACCOUNT, catalogue(1200))
        await harness.drain()

        messages = await harness.product_messages()
        assert sorted(item_counts(messages)) == [200, 500, 500]
        assert len(await harness.items()) == 1200


class TestExactlyOnce:
    """Each product message reaches Boltrics once, whatever happens."""

    async def test_faults_and_resets_never_duplicate_a_message(
        self, harness: Harness
    ) -> None:
        """With 5xx answers and resets after processing, 1,200 products are
        still three messages with three distinct references."""
        await harness.control.faults(
            post_message={"errorRate": 0.2, "resetRate": 0.3},
            list_messages={"errorRate": 0.2, "resetRate": 0.1},
        )
        service = harness.service()

        await service.sync(ACCOUNT, catalogue(1200))
        await harness.drain()

        messages = await harness.product_messages()
        references = Counter(message["externalReference"] for message in messages)
        assert len(references) == 3 and set(references.values()) == {1}
        assert len(await harness.items()) == 1200

    async def test_a_crash_after_posting_is_not_posted_again(
        self, harness: Harness
    ) -> None:
        """A restarted sender finds the message its dead predecessor posted."""
        dying = harness.service(
            lambda account: CrashAfterPost(harness.gateways[account]),
            drained=False,
            lease_seconds=0.2,
        )
        await dying.sync(ACCOUNT, catalogue(3))
        with pytest.raises(SimulatedCrash):
            await dying.drain()
        await asyncio.sleep(0.3)  # the dead sender's lease runs out

        restarted = harness.service()
        await harness.drain()

        assert len(await harness.product_messages()) == 1
        view = await restarted.get(ACCOUNT, external_no="SKU-00000")
        assert view.state is ProductState.CREATED

    async def test_no_message_is_claimed_that_is_not_posted_at_once(
        self, harness: Harness
    ) -> None:
        """Of six messages due, the sender claims only as many as it posts at
        once: a claim waiting for a free slot could outlive its lease and be
        posted by a second replica too."""
        held = HeldPosts(harness.gateways[ACCOUNT])
        service = harness.service(lambda _account: held, drained=False)
        await service.sync(ACCOUNT, catalogue(3000))

        draining = asyncio.create_task(service.drain())
        await asyncio.wait_for(held.entered.wait(), 10)
        await asyncio.sleep(0.2)
        claimed = await _claimed_now(harness)
        posting = held.posting
        held.release.set()
        await asyncio.wait_for(draining, 60)

        assert claimed == posting == 4
        assert len(await harness.product_messages()) == 6


class HeldPosts:
    """A gateway whose posts wait until released, counting those waiting."""

    def __init__(self, inner: BoltricsGateway):
        self._inner = inner
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.posting = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.posting += 1
        self.entered.set()
        await self.release.wait()
        return await self._inner.submit(*args, **kwargs)


async def _claimed_now(harness: Harness) -> int:
    """How many messages are claimed (their lease still running)."""
    now = datetime.now(UTC)
    async with harness.database.read() as conn:
        found = await conn.execute(
            sa.select(sa.func.count())
            .select_from(product_batches)
            .where(product_batches.c.claimed_until > now)
        )
        return int(found.scalar_one())


class TestVerdicts:
    """Boltrics' verdict is followed up and surfaced per product."""

    async def test_the_on_created_hook_gets_the_created_external_nos(
        self, harness: Harness
    ) -> None:
        """When an INSERT is processed the hook hears its ExternalNos, once."""
        service = harness.service()

        await service.sync(ACCOUNT, catalogue(2))
        await harness.drain()
        await service.upsert(
            ACCOUNT, product(product_id="p-0", sku="SKU-00000", name="X")
        )
        await harness.drain()

        assert harness.created == [(ACCOUNT, {"SKU-00000", "SKU-00001"})]

    async def test_created_products_are_announced_as_events(
        self, harness: Harness
    ) -> None:
        """Each created product gets a PRODUCT_CHANGED event with its view."""
        service = harness.service()

        await service.upsert(ACCOUNT, product())
        await harness.drain()

        [event] = await harness.product_events()
        assert (event["external_no"], event["state"]) == ("SKU-1", "created")
        assert event["listings"][0]["shop"] == "shop-a"

    async def test_a_failed_message_marks_its_products_failed_with_the_reason(
        self, harness: Harness
    ) -> None:
        """An UPDATE of an item the warehouse does not know fails with its text."""
        service = harness.service()
        await service.upsert(ACCOUNT, product())
        await harness.drain()
        harness.connect("an-empty-warehouse")

        await service.upsert(ACCOUNT, product(name="Large mug"))
        await harness.drain()

        view = await service.get(ACCOUNT, external_no="SKU-1")
        assert view.state is ProductState.FAILED
        assert "SKU-1 does not exist" in view.last_error
        assert (await harness.product_events())[-1]["state"] == "failed"

    async def test_an_item_boltrics_lost_is_created_again_by_the_next_sync(
        self, harness: Harness
    ) -> None:
        """Boltrics no longer has a created item (its message was lost, or the
        warehouse dropped it): the UPDATE fails, and the next sync of the
        product's first listing creates it again rather than failing for ever."""
        service = harness.service()
        await service.upsert(ACCOUNT, product())
        await harness.drain()
        harness.connect("a-warehouse-without-it")
        without = Control(
            harness.control.http,
            harness.control.root.rsplit("/", 1)[0] + "/" + harness.company_id,
        )
        await service.upsert(ACCOUNT, product(name="Large mug"))
        await harness.drain()
        failed = await service.get(ACCOUNT, external_no="SKU-1")

        await service.upsert(ACCOUNT, product(name="Large mug"))
        await harness.drain()

        view = await service.get(ACCOUNT, external_no="SKU-1")
        assert failed.state is ProductState.FAILED
        assert view.state is ProductState.CREATED
        items = (await without.call("GET", "/items"))["value"]
        assert [(i["externalNo"], i["description"]) for i in items] == [
            ("SKU-1", "Large mug")
        ]
        query = "/messages?direction=Inbound&messageType=materialmasterdata"
        messages = (await without.call("GET", query))["value"]
        assert [m["status"] for m in messages] == ["Failed", "Processed"]

    async def test_only_the_item_a_failed_message_names_fails(
        self, harness: Harness
    ) -> None:
        """Boltrics fails a whole message for one unknown item and names it:
        that product fails, and the others of the message go out again in a
        message of their own, which Boltrics processes."""
        service = harness.service()
        await service.sync(ACCOUNT, catalogue(3))
        await harness.drain()
        harness.connect("a-warehouse-that-lost-one-item")
        lost_one = Control(
            harness.control.http,
            harness.control.root.rsplit("/", 1)[0] + "/" + harness.company_id,
        )
        await lost_one.add_items("SKU-00000", "SKU-00002")

        renamed = [
            item.model_copy(update={"name": f"Renamed {n}"})
            for n, item in enumerate(catalogue(3))
        ]
        await service.sync(ACCOUNT, renamed)
        await harness.drain()

        views = {
            no: await service.get(ACCOUNT, external_no=no)
            for no in ("SKU-00000", "SKU-00001", "SKU-00002")
        }
        assert views["SKU-00001"].state is ProductState.FAILED
        assert "SKU-00001 does not exist" in views["SKU-00001"].last_error
        for no in ("SKU-00000", "SKU-00002"):
            assert views[no].state is ProductState.CREATED
            assert views[no].last_error == ""
        messages = await lost_one.call(
            "GET", "/messages?direction=Inbound&messageType=materialmasterdata"
        )
        assert [m["status"] for m in messages["value"]] == ["Failed", "Processed"]
        items = await lost_one.call("GET", "/items")
        descriptions = {i["externalNo"]: i["description"] for i in items["value"]}
        assert descriptions == {"SKU-00000": "Renamed 0", "SKU-00002": "Renamed 2"}
