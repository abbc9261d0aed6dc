"""Reading ahead: the next page is fetched while the caller works on this one.

The collectors and the full stock sync read Boltrics page by page and write
each page to the store. Waiting for Boltrics and working on a page overlap
when the next request is in flight while the caller works.

The caller's work on a page (the store's statements run inline, see
`sqlite_group`) does not give the event loop back until it is done. So before
the caller gets a page, the loop turns a few times: enough for the reader to
get its next request through the client's locks and checkpoints onto the
wire, where Boltrics answers it meanwhile. Without those turns, the request
only left after the caller's work, and nothing overlapped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

_T = TypeVar("_T")

#: Turns of the event loop the reader gets before the caller works on a page:
#: an HTTP request passes about a dozen checkpoints before it is sent.
READER_TURNS = 20


async def read_ahead(pages: AsyncIterator[_T]) -> AsyncGenerator[_T, None]:
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
            for _ in range(READER_TURNS):
                await asyncio.sleep(0)
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
