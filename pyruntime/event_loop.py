"""Which asyncio event loop the host and worker processes run on, and a ``run`` that uses it.

``agentrpc host``, ``agentrpc worker`` and ``agentrpc demo`` run on uvloop when it is installed
(it is a dependency on Linux and macOS): the benchmark measured 15-20 % less CPU per RPC and per
event in every process with it (benchmarks/PROFILE.md). ``AGENTRPC_EVENT_LOOP=asyncio`` (or a
command's ``--event-loop asyncio``) keeps the standard loop, e.g. to debug with asyncio's debug
mode. A library user who embeds :class:`pyruntime.GrpcWorkerRuntime` or
:class:`pyruntime.AgentRpcHost` in an application keeps whatever loop the application runs;
:func:`run` is the one-line way to get the same loop as the commands.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from typing import Any, Callable, Coroutine, Literal, Optional, TypeVar

T = TypeVar("T")

EventLoopChoice = Literal["auto", "uvloop", "asyncio"]
EVENT_LOOP_CHOICES: tuple[str, ...] = ("auto", "uvloop", "asyncio")
ENV_VAR = "AGENTRPC_EVENT_LOOP"


class EventLoopUnavailableError(RuntimeError):
    """uvloop was asked for explicitly but cannot be imported here."""


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def resolve(choice: Optional[str] = None) -> str:
    """``"uvloop"`` or ``"asyncio"``: ``choice``, else ``$AGENTRPC_EVENT_LOOP``, else ``auto``."""
    wanted = (choice or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if wanted not in EVENT_LOOP_CHOICES:
        raise ValueError(f"unknown event loop {wanted!r}: choose one of {', '.join(EVENT_LOOP_CHOICES)} "
                         f"(from {'--event-loop' if choice else ENV_VAR})")
    if wanted == "auto":
        return "uvloop" if uvloop_available() else "asyncio"
    if wanted == "uvloop" and not uvloop_available():
        raise EventLoopUnavailableError(
            "uvloop is not installed in this environment: pip install uvloop, or choose the asyncio loop"
        )
    return wanted


def loop_factory(choice: Optional[str] = None) -> Optional[Callable[[], asyncio.AbstractEventLoop]]:
    """A new-loop factory for ``asyncio.Runner`` (None means asyncio's default loop)."""
    if resolve(choice) == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


def run(main: Coroutine[Any, Any, T], *, event_loop: Optional[str] = None) -> T:
    """``asyncio.run(main)`` on the chosen loop (uvloop when installed, unless told otherwise)."""
    try:
        factory = loop_factory(event_loop)
    except (ValueError, EventLoopUnavailableError):
        main.close()  # never awaited: close it so Python does not warn about it
        raise
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    if factory is None:
        return asyncio.run(main)
    import uvloop

    return uvloop.run(main)  # type: ignore[no-any-return]
