"""Waiting for an RPC reply with a timeout and a cancellation token, turning both into clear errors."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from .cancellation import CancellationToken
from .errors import RpcCancelled, RpcTimeout


def _cancelled_from_outside() -> bool:
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling and cancelling())


async def await_reply(
    future: asyncio.Future[Any],
    *,
    timeout: Optional[float],
    cancellation: Optional[CancellationToken],
    action: str,
    target: object,
) -> Any:
    """Await ``future``; ``RpcTimeout`` after ``timeout`` seconds, ``RpcCancelled`` if the token fires.

    Either way the future is cancelled, so whoever would complete it can tell the caller gave
    up. ``action`` and ``target`` name the call in error messages, which are formatted only
    when an error is raised. One timer handle per call: cheaper than a timeout scope.
    """
    reason: Optional[str] = None

    def give_up(why: str) -> None:
        nonlocal reason
        if not future.done():
            reason = why
            future.cancel()

    def on_token() -> None:
        give_up("token")

    if cancellation is not None:
        if cancellation.is_cancelled:
            future.cancel()
            raise RpcCancelled(f"{action} {target} was cancelled before it was sent")
        cancellation.add_callback(on_token)
    # The future's own loop: no get_running_loop() (a getpid() system call per call on CPython 3.11).
    timer = future.get_loop().call_later(timeout, give_up, "timeout") if timeout is not None else None
    try:
        return await future
    except asyncio.CancelledError:
        if reason is None or _cancelled_from_outside():
            raise
        if reason == "timeout":
            raise RpcTimeout(f"{action} {target}: no reply within {timeout:g} s") from None
        raise RpcCancelled(f"{action} {target} was cancelled by its CancellationToken") from None
    finally:
        if timer is not None:
            timer.cancel()
        if cancellation is not None:
            cancellation.remove_callback(on_token)
