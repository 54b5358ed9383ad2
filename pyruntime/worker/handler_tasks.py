"""The tasks that run handlers: bounded, owned, and awaited when the runtime stops."""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from typing import Any, Awaitable, Callable

log = logging.getLogger("pyruntime.worker")

Job = Callable[..., Awaitable[Any]]


class HandlerTasks:
    """At most ``limit`` handler tasks at once; further jobs wait in a backlog, in order.

    ``spawn`` never blocks, so the stream reader keeps reading replies even when every
    handler is busy awaiting one (an A→B→A chain must not deadlock). ``wait_for_room``
    gives the reader backpressure once the backlog is long, instead of growing without end.
    """

    def __init__(self, limit: int = 1024, backlog_limit: int = 65536) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._backlog_limit = backlog_limit
        # Keyed by a serial number the task itself knows, so it can remove itself when done:
        # cheaper than a done callback, which costs a loop callback per handler.
        self._running: dict[int, asyncio.Task[Any]] = {}
        self._serials = itertools.count()
        self._backlog: collections.deque[tuple[Job, tuple[Any, ...]]] = collections.deque()
        # Read-only view for the stream reader's cheap "should I pause?" test (true only at the limit).
        self.backlog = self._backlog
        self._closed = False
        # Futures of ``wait_idle`` callers, woken when the last handler ends. Created only when
        # somebody waits: an Event would cost a clear and a set on nearly every message.
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._room = asyncio.Event()
        self._room.set()
        #: The loop the handlers run on, looked up once here rather than per message (on CPython 3.11
        #: each ``asyncio.get_running_loop()`` makes a ``getpid()`` system call). Create the
        #: ``HandlerTasks`` inside that running loop (runtimes do, in ``start``).
        self.loop: asyncio.AbstractEventLoop = asyncio.get_running_loop()

    def __len__(self) -> int:
        return len(self._running) + len(self._backlog)

    def spawn(self, job: Job, *args: Any) -> None:
        """Run ``job(*args)`` in a task now, or as soon as a slot frees up."""
        if self._closed:
            return
        if len(self._running) < self._limit:
            self._start(job, args)
        else:
            self._backlog.append((job, args))
            if len(self._backlog) >= self._backlog_limit:
                self._room.clear()

    def _start(self, job: Job, args: tuple[Any, ...]) -> None:
        serial = next(self._serials)
        task = self.loop.create_task(self._run(serial, job, args))
        # Normally the task starts on a later loop iteration, after this line; under an eager
        # task factory (Python 3.12+) it may already have finished and removed itself.
        if not task.done():
            self._running[serial] = task

    async def _run(self, serial: int, job: Job, args: tuple[Any, ...]) -> None:
        try:
            await job(*args)
        except Exception:
            # Jobs handle their own errors; this is the last resort, never a silent loss.
            log.exception("handler task failed")
        finally:
            self._finished(serial)

    def _finished(self, serial: int) -> None:
        running = self._running
        running.pop(serial, None)
        backlog = self._backlog
        if backlog:
            while backlog and len(running) < self._limit and not self._closed:
                job, args = backlog.popleft()
                self._start(job, args)
            if len(backlog) < self._backlog_limit:
                self._room.set()
        elif not running and self._idle_waiters:
            self._wake_idle()

    async def wait_for_room(self) -> None:
        """Return once the backlog is below its limit (cheap when it is)."""
        if not self._room.is_set():
            await self._room.wait()

    async def wait_idle(self) -> None:
        """Return once nothing is running or waiting."""
        while self._running or self._backlog:
            waiter: asyncio.Future[None] = self.loop.create_future()
            self._idle_waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._idle_waiters:
                    self._idle_waiters.remove(waiter)

    def _wake_idle(self) -> None:
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def close(self) -> None:
        """Drop the backlog, cancel running handlers and wait for them to finish."""
        self._closed = True
        self._backlog.clear()
        running = list(self._running.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        # A task cancelled before its first step never ran its ``finally``.
        self._running.clear()
        self._room.set()
        self._wake_idle()
