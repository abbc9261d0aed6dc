"""The parsing pool: batches parsed in a worker process, small ones inline, and
a dead worker survived."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from service.adapters.parsing import ParsingPool
from service.services.shipment_documents import TrackCodes, decode_message
from tests.support.server import REPO
from tests.unit.shipments.documents import HOSTILE, MALFORMED, sendshipment_xml

MAIN = os.getpid()


def where(document: bytes, suffix: str) -> str:
    """The document, the suffix, and the id of the process that parsed it."""
    return f"{document.decode()}{suffix}@{os.getpid()}"


def loaded(_document: bytes, module: str) -> bool:
    """Whether the parsing process has imported `module`."""
    return module in sys.modules


def die_in_worker(document: bytes, _arg: None) -> str:
    """Kills a worker process outright; in the test's own process, "inline"."""
    if os.getpid() != MAIN:
        os._exit(3)
    return f"{document.decode()} inline"


@pytest.fixture
async def pool() -> AsyncIterator[ParsingPool]:
    """A pool of one worker, for batches of four documents or more."""
    parsers = ParsingPool(1, min_batch=4)
    await parsers.started()
    yield parsers
    parsers.close()


async def test_a_batch_is_parsed_in_the_worker_in_order(pool: ParsingPool) -> None:
    """Every result, in the documents' order, from another process."""
    documents = [f"d{number}".encode() for number in range(10)]
    results = await pool.parse(where, documents, "!")
    assert [result.split("@")[0] for result in results] == [
        f"d{number}!" for number in range(10)
    ]
    assert {int(result.split("@")[1]) for result in results} != {os.getpid()}


async def test_a_small_batch_is_parsed_inline(pool: ParsingPool) -> None:
    """Below min_batch, handing over would cost more than it spares."""
    results = await pool.parse(where, [b"a", b"b"], "")
    assert results == [f"a@{os.getpid()}", f"b@{os.getpid()}"]


async def test_no_workers_parses_inline() -> None:
    """workers = 0: everything in this process, whatever the batch size."""
    parsers = ParsingPool(0)
    parsers.start()
    results = await parsers.parse(where, [b"x"] * 100, "")
    assert set(results) == {f"x@{os.getpid()}"}


async def test_a_worker_imports_the_preloaded_modules_at_its_start() -> None:
    """`preload` is imported before the first batch; other modules are not
    (colorsys: a module nothing here imports)."""
    for preload, expected in (["colorsys"], True), ([], False):
        parsers = ParsingPool(1, min_batch=1, preload=preload)
        await parsers.started()
        try:
            assert await parsers.parse(loaded, [b"?"], "colorsys") == [expected]
        finally:
            parsers.close()


async def test_a_dead_worker_is_replaced(pool: ParsingPool) -> None:
    """The batch that killed the worker is parsed inline; the next batch goes
    to a new worker."""
    documents = [b"d"] * 4
    assert await pool.parse(die_in_worker, documents, None) == ["d inline"] * 4
    await pool.started()
    results = await pool.parse(where, documents, "")
    assert {int(result.split("@")[1]) for result in results} != {os.getpid()}


async def test_a_worker_that_cannot_start_leaves_parsing_inline() -> None:
    """A worker whose start fails (a parser module that is not there): the
    batch is parsed inline, and the next batch tries a new worker."""
    parsers = ParsingPool(1, min_batch=1, preload=["no_such_parser_module"])
    try:
        await parsers.started()
        assert await parsers.parse(where, [b"d"], "") == [f"d@{MAIN}"]
        assert not parsers.running
    finally:
        parsers.close()


async def test_the_worker_starts_with_the_first_large_batch() -> None:
    """No worker until a large batch comes; that batch is parsed inline while
    the worker comes up, and later ones go to it."""
    parsers = ParsingPool(1, min_batch=4)
    try:
        assert not parsers.running
        assert set(await parsers.parse(where, [b"d"] * 4, "")) == {f"d@{MAIN}"}
        assert parsers.running
        await parsers.started()
        results = await parsers.parse(where, [b"d"] * 4, "")
        assert f"d@{MAIN}" not in results
    finally:
        parsers.close()


async def test_an_idle_worker_stops_and_comes_back() -> None:
    """After `idle_seconds` without a batch the worker stops, its process
    ends, and the next large batch starts a new one."""
    parsers = ParsingPool(1, min_batch=1, idle_seconds=0.2)
    try:
        await parsers.started()
        [first] = await parsers.parse(where, [b"d"], "")
        worker = int(first.split("@")[1])
        assert worker != MAIN
        deadline = time.monotonic() + 10
        # Another process's end has no event to wait on: poll for it.
        while (parsers.running or _alive(worker)) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        assert not parsers.running
        assert not _alive(worker)
        await parsers.started()
        [second] = await parsers.parse(where, [b"d"], "")
        assert int(second.split("@")[1]) not in (MAIN, worker)
    finally:
        parsers.close()


async def test_shipment_documents_decode_the_same_in_the_worker(
    pool: ParsingPool,
) -> None:
    """decode_message and its results, a confirmation or why a document cannot
    be used, cross the process boundary unchanged."""
    documents = [
        sendshipment_xml(f"o-{number}", attributes={"TRACKTRACE": f"3S{number}"})
        for number in range(6)
    ] + [HOSTILE, MALFORMED]
    inline = [decode_message(document, TrackCodes()) for document in documents]
    assert await pool.parse(decode_message, documents, TrackCodes()) == inline
    assert all(isinstance(result, str) for result in inline[6:])


_PARENT = """
import asyncio, os, sys, time
from service.adapters.parsing import ParsingPool
from tests.integration.parsing.test_pool import where

async def main():
    pool = ParsingPool(1, min_batch=1)
    await pool.started()
    [result] = await pool.parse(where, [b"pid"], "")
    print("worker", result.split("@")[1], flush=True)
    time.sleep(600)

asyncio.run(main())
"""


def test_the_worker_leaves_when_the_service_is_killed() -> None:
    """A service killed with SIGKILL leaves no worker behind."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    worker = next(
        int(line.split()[1]) for line in parent.stdout if line.startswith("worker ")
    )
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or going as we read
        return False
