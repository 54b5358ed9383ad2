"""Waiting for an RPC reply with a timeout and a cancellation token, turning both into clear errors."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Optional

from .cancellation import CancellationToken
from .errors import RpcCancelled, RpcTimeout

_HAS_TIMEOUT_CM = sys.version_info >= (3, 11)


async def await_reply(
    future: asyncio.Future[Any],
    *,
    timeout: Optional[float],
    cancellation: Optional[CancellationToken],
    action: str,
    target: object,
) -> Any:
    """Await ``future``; ``RpcTimeout`` after ``timeout`` seconds, ``RpcCancelled`` if the token fires.

    ``action`` and ``target`` name the call in error messages, which are formatted only when
    an error is raised (the hot path builds no strings).
    The future is cancelled when the wait ends early, so whoever would complete it can tell.
    """
    by_token = False

    def on_token() -> None:
        nonlocal by_token
        by_token = True
        if not future.done():
            future.cancel()

    if cancellation is not None:
        if cancellation.is_cancelled:
            future.cancel()
            raise RpcCancelled(f"{action} {target} was cancelled before it was sent")
        cancellation.add_callback(on_token)
    try:
        if timeout is None:
            return await future
        if _HAS_TIMEOUT_CM:
            scope = asyncio.timeout(timeout)
            try:
                async with scope:
                    return await future
            except TimeoutError:
                if scope.expired():
                    raise RpcTimeout(f"{action} {target}: no reply within {timeout:g} s") from None
                raise
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            if future.cancelled():
                raise RpcTimeout(f"{action} {target}: no reply within {timeout:g} s") from None
            raise
    except asyncio.CancelledError:
        task = asyncio.current_task()
        outer = task is not None and getattr(task, "cancelling", lambda: 0)() > 0
        if by_token and not outer:
            raise RpcCancelled(f"{action} {target} was cancelled by its CancellationToken") from None
        raise
    finally:
        if cancellation is not None:
            cancellation.remove_callback(on_token)
