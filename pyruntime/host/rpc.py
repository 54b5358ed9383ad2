"""Pending RPC requests: host-side ids, callers, targets and deadlines.

Every request forwarded to a target gets a fresh host id in place of the caller's
``request_id``; the caller's id is put back on the response. So two callers that both
number their requests "1", "2", ... never collide at a shared target.

No request waits forever. All requests share one timeout, so the table (a dict, in
insertion order) is also in deadline order, and one timer suffices: it is armed for the
oldest request's deadline, expires everything due when it fires, and re-arms for the next
oldest. A forwarded request costs a dict entry, not a timer handle to create and cancel
(measured on the host's RPC hot path, benchmarks/PROFILE.md). When a target's stream
ends, every request pending there is failed at once. Connections are opaque objects
compared by identity, so this module needs neither gRPC nor a running loop (tests pass a
fake clock).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """What ``asyncio.AbstractEventLoop`` offers: a clock, and a callback after a delay."""

    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> Cancellable: ...


DEFAULT_RPC_TIMEOUT = 30.0


@dataclass(eq=False, slots=True)
class PendingRequest:
    """One request forwarded to a target and not yet answered."""

    host_id: str
    caller: object
    caller_request_id: str
    target: object
    target_type: str
    deadline: float


class PendingRequests:
    """The table of forwarded requests, keyed by host id, oldest first."""

    def __init__(
        self,
        scheduler: Scheduler,
        on_expired: Callable[[PendingRequest], None],
        timeout: float = DEFAULT_RPC_TIMEOUT,
    ) -> None:
        if timeout <= 0:
            raise ValueError("rpc timeout must be a positive number of seconds")
        self._scheduler = scheduler
        self._on_expired = on_expired
        self.timeout = timeout
        self._pending: dict[str, PendingRequest] = {}
        self._timer: Cancellable | None = None
        self._ids = itertools.count(1)
        self.on_empty: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def start(self, caller: object, caller_request_id: str, target: object, target_type: str) -> str:
        """Record a request on its way to ``target``; return the host id to put on the wire."""
        host_id = str(next(self._ids))
        deadline = self._scheduler.time() + self.timeout
        self._pending[host_id] = PendingRequest(host_id, caller, caller_request_id, target, target_type, deadline)
        if self._timer is None:
            self._timer = self._scheduler.call_later(self.timeout, self._sweep)
        return host_id

    def complete(self, responder: object, host_id: str) -> PendingRequest | None:
        """Match a response arriving from ``responder``.

        None when the id is unknown (already answered, timed out, never issued) or when
        ``responder`` is not the connection the request went to; the entry then stays.
        """
        pending = self._pending.get(host_id)
        if pending is None or pending.target is not responder:
            return None
        self._forget(pending)
        return pending

    def fail_target(self, target: object) -> list[PendingRequest]:
        """``target``'s stream ended: remove and return every request pending there, oldest first."""
        return [self._forget(p) for p in [p for p in self._pending.values() if p.target is target]]

    def forget_caller(self, caller: object) -> int:
        """``caller``'s stream ended: nobody is left to answer, so drop its requests."""
        gone = [p for p in self._pending.values() if p.caller is caller]
        for pending in gone:
            self._forget(pending)
        return len(gone)

    def fail_all(self) -> list[PendingRequest]:
        """Remove and return everything (used at shutdown)."""
        return [self._forget(pending) for pending in list(self._pending.values())]

    def _sweep(self) -> None:
        """The timer fired: expire every request whose deadline has passed, re-arm for the rest."""
        self._timer = None
        now = self._scheduler.time()
        due: list[PendingRequest] = []
        for pending in self._pending.values():  # oldest first: stop at the first one not yet due
            if pending.deadline > now:
                break
            due.append(pending)
        for pending in due:
            self._forget(pending)
            self._on_expired(pending)
        if self._pending and self._timer is None:
            oldest = next(iter(self._pending.values()))
            self._timer = self._scheduler.call_later(max(0.0, oldest.deadline - now), self._sweep)

    def _forget(self, pending: PendingRequest) -> PendingRequest:
        del self._pending[pending.host_id]
        if not self._pending and self.on_empty is not None:
            self.on_empty()
        return pending
