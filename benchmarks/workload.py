"""Worker A's side of every cell: the publish loop, sequential RPC and 64-in-flight RPC.

The same code drives every stack through the small ``Endpoint`` protocol, so the only thing
that differs between stacks is the runtime underneath.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from benchmarks.payloads import body_of, make_message

# A stuck stack fails the cell instead of hanging it. One deadline for all the calls of a cell,
# not one per call: asyncio.wait_for costs a task and a timer per call, harness overhead that
# would be charged to every stack alike and blur the differences between them.
RPC_DEADLINE = 60.0
MAX_ERRORS = 3  # abort a cell after this many failed calls (e.g. a format the stack cannot carry)


class Endpoint(Protocol):
    """One worker of a stack, as seen by the workload."""

    async def publish(self, message: Any, topic_type: str) -> None: ...

    async def call(self, message: Any) -> Any:
        """RPC to the echo agent on worker B; returns its reply."""
        ...


class CellAborted(RuntimeError):
    """Too many RPCs failed; the message says the first failure."""


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run_pubsub(endpoint: Endpoint, *, run: int, n: int, size: int, fmt: str, topic: str) -> dict[str, Any]:
    t_first = time.monotonic()
    for seq in range(n):
        await endpoint.publish(make_message(fmt, run, seq, size), topic)
    return {"t_first_publish": t_first, "t_publish_done": time.monotonic()}


class _CallStats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.wrong = 0
        self.errors: list[str] = []

    async def one(self, endpoint: Endpoint, message: Any) -> None:
        start = time.perf_counter()
        try:
            reply = await endpoint.call(message)
        except Exception as error:  # any stack failure counts; the first few are reported
            self.errors.append(f"{type(error).__name__}: {error}"[:300])
            if len(self.errors) >= MAX_ERRORS:
                raise CellAborted(self.errors[0]) from error
            return
        self.latencies.append(time.perf_counter() - start)
        if body_of(reply) != body_of(message):
            self.wrong += 1

    def summary(self, elapsed: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "elapsed": elapsed,
            "answered": len(self.latencies),
            "wrong": self.wrong,
            "errors": len(self.errors),
            "first_error": self.errors[0] if self.errors else None,
            "p50": percentile(ordered, 0.50),
            "p99": percentile(ordered, 0.99),
        }


async def run_seq(endpoint: Endpoint, *, run: int, n: int, warmup: int, size: int, fmt: str) -> dict[str, Any]:
    warm = _CallStats()
    stats = _CallStats()
    async with asyncio.timeout(RPC_DEADLINE):
        for seq in range(warmup):
            await warm.one(endpoint, make_message(fmt, run, n + seq, size))
        start = time.perf_counter()
        for seq in range(n):
            await stats.one(endpoint, make_message(fmt, run, seq, size))
    return stats.summary(time.perf_counter() - start)


async def run_concurrent(
    endpoint: Endpoint, *, run: int, n: int, inflight: int, size: int, fmt: str
) -> dict[str, Any]:
    stats = _CallStats()

    async def caller(first: int) -> None:
        for seq in range(first, n, inflight):
            await stats.one(endpoint, make_message(fmt, run, seq, size))

    start = time.perf_counter()
    # TaskGroup: a CellAborted in one caller cancels the others and propagates.
    async with asyncio.timeout(RPC_DEADLINE), asyncio.TaskGroup() as group:
        for first in range(min(inflight, n)):
            group.create_task(caller(first))
    return stats.summary(time.perf_counter() - start)
