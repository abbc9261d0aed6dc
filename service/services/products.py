"""Use cases of products: take them in, look one up, and send them to Boltrics.

A call's products are decided in bulk: the identities they may touch are read
in a few queries, decided in memory by the domain's `ProductCatalogue`, and
written back in one transaction per slice of `SYNC_SLICE` products. The
background sender (`run`) then batches what must go to Boltrics.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from service.adapters.store.database import Database
from service.adapters.store.events import SqlEventLog
from service.adapters.store.products import BatchState, SqlProductStore, chunks
from service.config import Account
from service.domain.products import (
    ChannelProduct,
    ProductResult,
    ProductView,
    refused,
    validate_product,
)
from service.errors import FieldViolation, InvalidArgument, NotFound
from service.logging import get_logger
from service.services.product_sender import (
    AccountFor,
    GatewayFor,
    OnCreated,
    ProductSender,
)

_log = get_logger(__name__)

#: Products decided and written per transaction during a sync.
SYNC_SLICE = 2_000


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


class ProductService:
    """Gives products their Boltrics identity and sends them to Boltrics.

    `on_created(account_id, external_nos)` is awaited when products come to
    exist in Boltrics (at least once, also across crashes); wire it to
    `OrderService.requeue_waiting`. Run `run(stop)` as a background task.
    """

    def __init__(
        self,
        database: Database,
        events: SqlEventLog,
        gateway_for: GatewayFor,
        account_settings: AccountFor,
        on_created: OnCreated,
        *,
        clock: Callable[[], datetime] = utc_now,
        linger_seconds: float = 0.5,
        verdict_poll_seconds: float = 2.0,
        lease_seconds: float = 60.0,
    ):
        self._store = SqlProductStore(database, events)
        self._accounts = account_settings
        self._clock = clock
        self._sender = ProductSender(
            self._store,
            gateway_for,
            account_settings,
            on_created,
            clock=clock,
            linger=timedelta(seconds=linger_seconds),
            verdict_poll=timedelta(seconds=verdict_poll_seconds),
            lease=timedelta(seconds=lease_seconds),
        )

    async def upsert(self, account_id: str, product: ChannelProduct) -> ProductResult:
        """Take one product; InvalidArgument (paths under `product.`) if it is bad."""
        account = self._account(account_id)
        problems = validate_product(product, "product")
        if problems:
            raise InvalidArgument(problems)

        (result,) = await self._decide(account, [product])
        self._sender.wake()
        _log.info(
            "product.upserted",
            account=account_id,
            product_id=result.product_id,
            external_no=result.external_no,
            outcome=result.outcome.value,
        )
        return result

    async def sync(
        self, account_id: str, products: Sequence[ChannelProduct]
    ) -> list[ProductResult]:
        """Take many products; bad ones are refused in their own result (paths
        under `products[i].`) and the good ones go through."""
        account = self._account(account_id)
        if not products:
            raise InvalidArgument(
                [FieldViolation("products", "at least one product is required")]
            )
        started = time.monotonic()

        results: list[ProductResult | None] = [None] * len(products)
        valid: list[int] = []
        for index, product in enumerate(products):
            problems = validate_product(product, f"products[{index}]")
            if problems:
                results[index] = refused(product, problems).model_copy(
                    update={"index": index}
                )
            else:
                valid.append(index)

        with self._sender.holding():
            for part in chunks(valid, SYNC_SLICE):
                decided = await self._decide(account, [products[i] for i in part])
                for index, result in zip(part, decided, strict=True):
                    results[index] = result.model_copy(update={"index": index})

        done = [result for result in results if result is not None]
        _log_sync(account_id, done, time.monotonic() - started)
        return done

    async def get(
        self,
        account_id: str,
        *,
        external_no: str | None = None,
        product_id: str | None = None,
    ) -> ProductView:
        """A product's identity by ExternalNo or Buckles product id; NotFound if
        the account has no such product."""
        if (external_no is None) == (product_id is None):
            raise InvalidArgument(
                [FieldViolation("key", "give exactly one of external_no or product_id")]
            )
        view = await self._store.view(
            account_id, external_no=external_no, product_id=product_id
        )
        if view is None:
            which = external_no if external_no is not None else product_id
            msg = f"product {which} of account {account_id} is not known"
            raise NotFound(msg, metadata={"product": str(which)})
        return view

    async def run(self, stop: asyncio.Event) -> None:
        """The background sender: batches, posts and follows up until `stop`."""
        await self._sender.run(stop)

    async def drain(self) -> None:
        """Send everything queued and wait for Boltrics' verdicts and the hooks
        (for tests and tools; bound it with `asyncio.timeout`)."""
        while True:
            await self._sender.pump(force=True)
            if await self._store.queue_depth() == 0 and not await self._hooks():
                return
            await asyncio.sleep(0.02)

    async def _hooks(self) -> bool:
        return bool(await self._store.batches_in(BatchState.HOOK))

    async def _decide(
        self, account: Account, products: Sequence[ChannelProduct]
    ) -> list[ProductResult]:
        normalized = [product.normalized() for product in products]
        now = self._clock()
        async with self._store.transaction(account.id) as txn:
            catalogue = await txn.load_catalogue(
                normalized, link_by_barcode=account.link_by_barcode
            )
            results = [catalogue.upsert(product, now) for product in normalized]
            await txn.write(catalogue.changes, now)

        for product_id, notice in catalogue.changes.notices:
            _log.warning(
                notice.event, account=account.id, product_id=product_id, **notice.data
            )
        return results

    def _account(self, account_id: str) -> Account:
        account = self._accounts(account_id)
        if account is None:
            msg = f"account {account_id} is not configured"
            raise NotFound(msg, metadata={"account_id": account_id})
        return account


def _log_sync(account_id: str, results: list[ProductResult], seconds: float) -> None:
    outcomes = Counter(result.outcome.value for result in results)
    _log.info(
        "products.synced",
        account=account_id,
        received=len(results),
        seconds=round(seconds, 3),
        **dict(sorted(outcomes.items())),
    )
