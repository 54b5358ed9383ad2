"""A cancellation token: the caller's way to abandon an RPC, and a handler's way to notice."""

from __future__ import annotations

import asyncio
from typing import Callable


class CancellationToken:
    """Cancelled at most once; callbacks and linked futures learn of it immediately.

    A caller passes a token to ``send_message`` to abandon the call (``RpcCancelled``); a
    handler reads ``ctx.cancellation`` to stop early when its caller gives up or the runtime
    stops.
    """

    __slots__ = ("_cancelled", "_callbacks")

    def __init__(self) -> None:
        self._cancelled = False
        self._callbacks: list[Callable[[], object]] = []

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def add_callback(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on cancellation (at once if already cancelled)."""
        if self._cancelled:
            callback()
        else:
            self._callbacks.append(callback)

    def remove_callback(self, callback: Callable[[], object]) -> None:
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def link_future(self, future: asyncio.Future) -> None:
        """Cancel ``future`` when this token is cancelled."""

        def cancel_future() -> None:
            if not future.done():
                future.cancel()

        self.add_callback(cancel_future)
        future.add_done_callback(lambda _: self.remove_callback(cancel_future))
