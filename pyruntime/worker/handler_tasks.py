"""The tasks that run handlers: bounded, owned, and awaited when the runtime stops."""

from __future__ import annotations

import asyncio
import collections
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
        self._running: set[asyncio.Task[Any]] = set()
        self._backlog: collections.deque[tuple[Job, tuple[Any, ...]]] = collections.deque()
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Event()
        self._room.set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, looked up once per runtime rather than per handler (on CPython 3.11
        each ``asyncio.get_running_loop()`` makes a ``getpid()`` system call; small, but per message)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def __len__(self) -> int:
        return len(self._running) + len(self._backlog)

    def spawn(self, job: Job, *args: Any) -> None:
        """Run ``job(*args)`` in a task now, or as soon as a slot frees up."""
        if self._closed:
            return
        self._idle.clear()
        if len(self._running) < self._limit:
            self._start(job, args)
        else:
            self._backlog.append((job, args))
            if len(self._backlog) >= self._backlog_limit:
                self._room.clear()

    def _start(self, job: Job, args: tuple[Any, ...]) -> None:
        task = self.loop.create_task(job(*args))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                log.error("handler task failed", exc_info=exc)
        while self._backlog and len(self._running) < self._limit and not self._closed:
            job, args = self._backlog.popleft()
            self._start(job, args)
        if len(self._backlog) < self._backlog_limit:
            self._room.set()
        if not self._running and not self._backlog:
            self._idle.set()

    async def wait_for_room(self) -> None:
        """Return once the backlog is below its limit (cheap when it is)."""
        if not self._room.is_set():
            await self._room.wait()

    async def wait_idle(self) -> None:
        """Return once nothing is running or waiting."""
        await self._idle.wait()

    async def close(self) -> None:
        """Drop the backlog, cancel running handlers and wait for them to finish."""
        self._closed = True
        self._backlog.clear()
        running = list(self._running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        self._room.set()
        self._idle.set()
