"""Reading ahead: the next page is fetched while the caller works on this one.

The collectors and the full stock sync read Boltrics page by page and write
each page to the store. Waiting for Boltrics and working on a page overlap
when the next request is in flight while the caller works.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

_T = TypeVar("_T")


async def read_ahead(pages: AsyncIterator[_T]) -> AsyncIterator[_T]:
    """The same pages, the next one read while the caller works on one.

    An error of `pages` reaches the caller after the pages before it.
    """
    queue: asyncio.Queue[tuple[_T] | BaseException | None] = asyncio.Queue(1)

    async def produce() -> None:
        try:
            async for page in pages:
                await queue.put((page,))
            await queue.put(None)
        except Exception as exc:  # handed to the consumer, who raises it
            await queue.put(exc)

    producer = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item[0]
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


async def in_batches(items: AsyncIterator[_T], size: int) -> AsyncIterator[list[_T]]:
    """`items` in lists of `size` (the last one shorter, never empty)."""
    batch: list[_T] = []
    async for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
