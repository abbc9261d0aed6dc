"""Parsing documents from outside in a worker process.

Parsing a page of Boltrics documents is CPU work that takes about as long as
storing what they hold. Done in a worker process, it runs on another core
while this process stores the page before it.

The worker is there only while there is work for it: it starts with the first
large batch (which, like every batch until the worker is up, is parsed
inline) and stops after `IDLE_SECONDS` without one, giving its memory back.
A small batch is always parsed inline: handing it over would cost more than
it spares. When a worker dies (the system killed it, say), its batch is
parsed inline and a new worker is started for the next one.

Workers are spawned, not forked (the service runs threads). As
multiprocessing does for spawned processes, a worker imports the service's
main module: under `python -m service` that is nothing (hence the Docker
image's entry point); from the `boltrics-connector` script, the command line
and all it imports. A script of its own that runs the service must start it
under `if __name__ == "__main__":`, or each worker would start it again.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from service.logging import get_logger

MIN_BATCH = 32
IDLE_SECONDS = 300.0

_A = TypeVar("_A")
_R = TypeVar("_R")

_log = get_logger(__name__)


class ParsingPool:
    """Worker processes that parse batches of documents (see the module)."""

    def __init__(
        self,
        workers: int,
        *,
        min_batch: int = MIN_BATCH,
        preload: Sequence[str] = (),
        idle_seconds: float = IDLE_SECONDS,
    ):
        """`preload` names the modules of the parsers, which a worker imports
        when it starts rather than with its first batch."""
        self._workers = workers
        self._min_batch = min_batch
        self._preload = tuple(preload)
        self._idle_seconds = idle_seconds
        self._executor: ProcessPoolExecutor | None = None
        self._starting: list[Future[int]] = []
        self._idle: asyncio.TimerHandle | None = None

    @property
    def enabled(self) -> bool:
        """Whether batches go to worker processes at all (workers > 0)."""
        return self._workers > 0

    @property
    def running(self) -> bool:
        """Whether the workers are started (they may still be coming up)."""
        return self._executor is not None

    def start(self) -> None:
        """Start the workers, if they are not; this returns at once."""
        if self.enabled and self._executor is None:
            self._executor = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_prepare_worker,
                initargs=(self._preload,),
            )
            # Each worker comes up when a task needs it: one task each, now.
            self._starting = [
                self._executor.submit(os.getpid) for _ in range(self._workers)
            ]
            _log.info("parsing.started", workers=self._workers)

    async def started(self) -> None:
        """Start the workers, and return once each is up (or failed to come up,
        which the next batch finds out)."""
        self.start()
        await asyncio.gather(
            *(asyncio.wrap_future(f) for f in self._starting), return_exceptions=True
        )

    def parse(
        self, parser: Callable[[bytes, _A], _R], documents: Sequence[bytes], arg: _A
    ) -> Awaitable[list[_R]]:
        """Start `parser(document, arg)` for each document now; the awaitable
        gives the results, in order.

        Handed to a worker before this returns, so that the caller can do other
        work meanwhile. `parser` must be a module-level function, and `arg` and
        the results picklable.
        """
        if not self.enabled or len(documents) < self._min_batch:
            return _done(_parse_all(parser, documents, arg))
        self._keep_alive()
        executor = self._executor
        if executor is None or not all(f.done() for f in self._starting):
            self.start()
            return _done(_parse_all(parser, documents, arg))
        try:
            future = asyncio.get_running_loop().run_in_executor(
                executor, _parse_all, parser, documents, arg
            )
        except BrokenProcessPool:  # it never came up, or died idle
            return _done(self._inline_after_death(executor, parser, documents, arg))
        return self._result(executor, future, parser, documents, arg)

    def close(self) -> None:
        """Stop the workers; a batch in flight is parsed to its end first."""
        self._discard()

    async def _result(
        self,
        executor: ProcessPoolExecutor,
        future: asyncio.Future[list[_R]],
        parser: Callable[[bytes, _A], _R],
        documents: Sequence[bytes],
        arg: _A,
    ) -> list[_R]:
        try:
            return await future
        except BrokenProcessPool:
            return self._inline_after_death(executor, parser, documents, arg)

    def _inline_after_death(
        self,
        executor: ProcessPoolExecutor,
        parser: Callable[[bytes, _A], _R],
        documents: Sequence[bytes],
        arg: _A,
    ) -> list[_R]:
        _log.warning("parsing.worker_died", documents=len(documents))
        if self._executor is executor:
            self._discard()
        return _parse_all(parser, documents, arg)

    def _keep_alive(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(
            self._idle_seconds, self._stop_idle
        )

    def _stop_idle(self) -> None:
        if self._executor is not None:
            _log.info("parsing.stopped_idle", idle_seconds=self._idle_seconds)
        self._discard()

    def _discard(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        executor, self._executor = self._executor, None
        self._starting = []
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _done(value: _R) -> asyncio.Future[_R]:
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _parse_all(
    parser: Callable[[bytes, _A], _R], documents: Sequence[bytes], arg: _A
) -> list[_R]:
    return [parser(document, arg) for document in documents]


def _prepare_worker(preload: Sequence[str]) -> None:
    """In a worker, at its start: import the parsers, and watch the service."""
    for module in preload:
        importlib.import_module(module)
    _exit_with_parent()


def _exit_with_parent() -> None:
    """Leave as soon as the service's process is gone (a worker waiting for
    work would otherwise outlive a service killed with SIGKILL)."""
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always set in a spawned worker
        return

    def watch(sentinel: Any) -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, args=(parent.sentinel,), daemon=True).start()
