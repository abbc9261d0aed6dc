"""Reading ahead: the next page is in flight while the caller works on one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from service.services.ahead import in_batches, read_ahead


class FakePages:
    """Pages that record when each was asked for, and may fail after some."""

    def __init__(
        self, count: int, fail_after: int | None = None, checkpoints: int = 0
    ) -> None:
        """`checkpoints`: turns of the loop a request takes before it is sent,
        as an HTTP client's locks take them."""
        self.count = count
        self.fail_after = fail_after
        self.checkpoints = checkpoints
        self.asked: list[int] = []

    async def __call__(self) -> AsyncIterator[int]:
        for number in range(self.count):
            if number == self.fail_after:
                msg = f"page {number} failed"
                raise RuntimeError(msg)
            for _ in range(self.checkpoints):
                await asyncio.sleep(0)
            self.asked.append(number)
            await asyncio.sleep(0)
            yield number


async def _items(values: list[str]) -> AsyncIterator[str]:
    for value in values:
        yield value


class TestReadAhead:
    async def test_pages_come_in_order(self) -> None:
        """Every page, in the order read."""
        pages = FakePages(5)

        seen = [page async for page in read_ahead(pages())]

        assert seen == [0, 1, 2, 3, 4]

    async def test_the_next_page_is_read_while_the_caller_works(self) -> None:
        """While the caller holds page 0, page 1 has been read already."""
        pages = FakePages(3)
        reader = read_ahead(pages())

        first = await anext(reader)
        await asyncio.sleep(0.01)  # the caller's work, during which others run

        assert first == 0
        assert 1 in pages.asked
        await reader.aclose()

    async def test_the_next_request_is_sent_before_work_that_never_yields(
        self,
    ) -> None:
        """A caller whose work holds the loop (inline SQLite) still overlaps with
        the next request: it was sent, past a dozen checkpoints, before the
        caller got its page."""
        pages = FakePages(3, checkpoints=12)
        reader = read_ahead(pages())

        first = await anext(reader)
        asked_before_work = list(pages.asked)

        assert first == 0
        assert asked_before_work == [0, 1]
        await reader.aclose()

    async def test_an_error_comes_after_the_pages_before_it(self) -> None:
        """Pages 0 and 1 reach the caller, then the error of page 2."""
        pages = FakePages(5, fail_after=2)
        seen: list[int] = []

        with pytest.raises(RuntimeError, match="page 2 failed"):
            async for page in read_ahead(pages()):
                seen.append(page)

        assert seen == [0, 1]


class TestInBatches:
    async def test_items_in_lists_of_size_the_last_shorter(self) -> None:
        """Five items in batches of two: two, two, one."""
        batches = [b async for b in in_batches(_items(list("abcde")), 2)]

        assert batches == [["a", "b"], ["c", "d"], ["e"]]

    async def test_no_items_no_batch(self) -> None:
        """Nothing in, no empty batch out."""
        assert [b async for b in in_batches(_items([]), 3)] == []
