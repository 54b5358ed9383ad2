"""A bounded, closable FIFO of outbound frames for one stream.

Why not ``asyncio.Queue``: the host needs three things it lacks. ``force`` appends past
the bound for the few frames the host itself must deliver from timer callbacks (RPC
timeouts, disconnect errors), which cannot await. ``close`` lets a writer flush what is
queued and stop, or drop it at once. And a put that waits for space ends after a
timeout, so one client that stops reading cannot block its publishers for ever.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Outbox(Generic[T]):
    """Frames waiting to be written to one stream, at most ``limit`` of them (``force`` aside)."""

    __slots__ = ("_items", "_limit", "_getter", "_putters", "_loop", "closed", "close_status")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("outbox limit must be at least 1")
        self._items: deque[T] = deque()
        self._limit = limit
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        # Bound on first wait: asyncio.get_running_loop() costs a getpid() system call on CPython 3.11.
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        # (grpc status name, details) to end the stream with, when closed by the host.
        self.close_status: tuple[str, str] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> bool:
        """Queue ``item`` if there is room. False when full; True (item dropped) when closed."""
        if self.closed:
            return True
        if len(self._items) >= self._limit:
            return False
        self._items.append(item)
        self._wake_getter()
        return True

    def force(self, item: T) -> None:
        """Queue ``item`` even past the limit (host-made replies that cannot wait)."""
        if not self.closed:
            self._items.append(item)
            self._wake_getter()

    async def put(self, item: T, timeout: float) -> bool:
        """Queue ``item``, waiting up to ``timeout`` seconds for room. False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.put_nowait(item):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._putters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                return False
            finally:
                if waiter in self._putters:
                    self._putters.remove(waiter)
        return True

    async def get(self) -> T | None:
        """The next frame, or None once the outbox is closed and empty."""
        while not self._items:
            if self.closed:
                return None
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            self._getter = loop.create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        item = self._items.popleft()
        if self._putters:
            waiter = self._putters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        return item

    def close(self, *, discard: bool = False, status: tuple[str, str] | None = None) -> None:
        """Stop accepting frames. The writer drains what is queued unless ``discard``."""
        if status is not None and self.close_status is None:
            self.close_status = status
        self.closed = True
        if discard:
            self._items.clear()
        self._wake_getter()
        while self._putters:
            waiter = self._putters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _wake_getter(self) -> None:
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
