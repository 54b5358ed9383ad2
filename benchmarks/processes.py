"""Entry points of the spawned processes (host/router, worker A, worker B) and their command loop.

The orchestrator talks to each process over a ``multiprocessing`` pipe: it sends ``(command, kwargs)``
and gets back ``("ok", result)`` or ``("error", text)``. A process announces itself with
``("ready", info)`` once its host is listening / its worker is connected and registered.
"""

from __future__ import annotations

import asyncio
import os
from multiprocessing.connection import Connection
from typing import Any, Awaitable, Callable

from benchmarks import workload
from benchmarks.recorder import DeliveryRecorder
from pyruntime.event_loop import run

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

Command = Callable[..., Awaitable[Any]]


def _describe(error: BaseException) -> str:
    # Unwrap TaskGroup's ExceptionGroup so the report shows the real first failure.
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"[:500]


async def _serve(conn: Connection, commands: dict[str, Command]) -> None:
    """Run commands until ``stop`` or until the orchestrator's end of the pipe closes."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            name, kwargs = await loop.run_in_executor(None, conn.recv)
        except (EOFError, OSError):
            return
        if name == "stop":
            return
        try:
            conn.send(("ok", await commands[name](**kwargs)))
        except Exception as error:  # reported to the orchestrator, which fails the cell
            conn.send(("error", _describe(error)))


def _loop_name() -> str:
    """"uvloop" or "asyncio": what this process really runs on (the orchestrator checks it)."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def make_endpoint(kind: str) -> Any:
    if kind in ("raw", "raw-registering"):
        from benchmarks.stacks.raw import RawEndpoint

        return RawEndpoint(register=kind == "raw-registering")
    if kind == "autogen":
        from benchmarks.stacks.autogen_worker import AutogenEndpoint

        return AutogenEndpoint()
    if kind == "ours":
        from benchmarks.stacks.ours_worker import OursEndpoint

        return OursEndpoint()
    raise ValueError(f"unknown worker kind {kind!r}")


async def _host(kind: str, conn: Connection) -> None:
    from benchmarks.stacks.hosts import running_host

    async with running_host(kind) as address:
        conn.send(("ready", {"address": address, "pid": os.getpid(), "event_loop": _loop_name()}))
        await _serve(conn, {})


def host_main(kind: str, event_loop: str, conn: Connection) -> None:
    """Process entry: run a host of ``kind`` on ``event_loop`` (pyruntime.event_loop) until told to stop."""
    try:
        run(_host(kind, conn), event_loop=event_loop)
    except BaseException as error:
        _try_send(conn, ("error", _describe(error)))
        raise


async def _worker(kind: str, role: str, address: str, conn: Connection) -> None:
    endpoint = make_endpoint(kind)
    recorder = DeliveryRecorder() if role == "B" else None
    await asyncio.wait_for(endpoint.start(address, role, recorder), STARTUP_TIMEOUT)
    try:
        conn.send(("ready", {"pid": os.getpid(), "event_loop": _loop_name()}))
        commands: dict[str, Command]
        if recorder is not None:
            async def expect(**kw: Any) -> None:
                recorder.expect(**kw)

            async def audit() -> dict[str, int]:
                return recorder.audit()

            commands = {"expect": expect, "collect": recorder.collect, "audit": audit}
        else:
            commands = {
                "pubsub": lambda **kw: workload.run_pubsub(endpoint, **kw),
                "seq": lambda **kw: workload.run_seq(endpoint, **kw),
                "conc": lambda **kw: workload.run_concurrent(endpoint, **kw),
            }
        await _serve(conn, commands)
    finally:
        await asyncio.wait_for(endpoint.stop(), STOP_TIMEOUT)


def worker_main(kind: str, event_loop: str, role: str, address: str, conn: Connection) -> None:
    """Process entry: worker ``role`` ("A" publisher/caller, "B" subscribers/echo) of ``kind``."""
    try:
        run(_worker(kind, role, address, conn), event_loop=event_loop)
    except BaseException as error:
        _try_send(conn, ("error", _describe(error)))
        raise


def _try_send(conn: Connection, message: tuple[str, Any]) -> None:
    try:
        conn.send(message)
    except (OSError, ValueError):
        pass
