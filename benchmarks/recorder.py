"""Worker B's delivery bookkeeping: exactly-once per subscriber, intact bodies, first/last delivery time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks.payloads import body_of, parse

SUBSCRIBER_TYPES = ("sub0", "sub1", "sub2", "sub3")
ECHO_TYPE = "echo"
# Topic type → the agent types subscribed to it on worker B (all K on the same worker, as in perf-baseline).
TOPICS: dict[str, tuple[str, ...]] = {
    "bench.k1": SUBSCRIBER_TYPES[:1],
    "bench.k4": SUBSCRIBER_TYPES[:4],
}


def topic_for(k: int) -> str:
    return f"bench.k{k}"


class DeliveryRecorder:
    """Counts what the subscriber agents on worker B receive for the current run.

    ``record`` is called by every subscriber handler (any stack) and must stay cheap: one parse,
    one bytearray lookup. Deliveries of another run number are counted as ``stale`` (session-wide),
    so duplicates that arrive after a run completed still show up in the final audit.
    """

    def __init__(self) -> None:
        self.stale = 0
        self.foreign = 0  # not a benchmark message at all
        self._run = -1
        self._size = 0
        self._expected = 0
        self._seen: dict[str, bytearray] = {}
        self._done = asyncio.Event()
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.delivered = 0
        self.duplicates = 0
        self.corrupt = 0
        self.t_first = 0.0
        self.t_last = 0.0

    def expect(self, run: int, n: int, k: int, size: int) -> None:
        """Start a run: ``n`` messages to each of the first ``k`` subscriber types."""
        self._run, self._size, self._expected = run, size, n * k
        self._seen = {sub: bytearray(n) for sub in SUBSCRIBER_TYPES[:k]}
        self._reset_counters()
        self._done = asyncio.Event()
        if self._expected == 0:
            self._done.set()

    def record(self, subscriber: str, message: Any) -> None:
        now = time.monotonic()
        body = body_of(message)
        if body is None:
            self.foreign += 1
            return
        try:
            run, seq, intact = parse(body, self._size)
        except ValueError:
            self.foreign += 1
            return
        if run != self._run:
            self.stale += 1
            return
        seen = self._seen.get(subscriber)
        if seen is None or not 0 <= seq < len(seen):
            self.corrupt += 1
            return
        if seen[seq]:
            self.duplicates += 1
            return
        seen[seq] = 1
        if not intact:
            self.corrupt += 1
        if self.delivered == 0:
            self.t_first = now
        self.delivered += 1
        self.t_last = now
        if self.delivered == self._expected:
            self._done.set()

    async def collect(self, timeout: float) -> dict[str, Any]:
        """Wait (bounded) until every expected delivery arrived; then the run's counts and times."""
        complete = True
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except asyncio.TimeoutError:
            complete = False
        return {
            "complete": complete,
            "expected": self._expected,
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "corrupt": self.corrupt,
            "t_first_delivery": self.t_first,
            "t_last_delivery": self.t_last,
        }

    def audit(self) -> dict[str, int]:
        return {"stale": self.stale, "foreign": self.foreign}
