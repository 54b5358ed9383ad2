"""Pending RPC requests: host-side ids, callers, targets and deadlines.

Every request forwarded to a target gets a fresh host id in place of the caller's
``request_id``; the caller's id is put back on the response. So two callers that both
number their requests "1", "2", ... never collide at a shared target.

No request waits forever: each has one timer (``call_later`` on the scheduler, normally
the asyncio loop: a cheap handle, not a task), and when a target's stream ends every
request pending there is failed at once. Connections are opaque objects compared by
identity, so this module needs neither gRPC nor a running loop (tests pass a fake clock).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """What ``asyncio.AbstractEventLoop`` offers: run a callback after a delay."""

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
    timer: Cancellable | None = None


class PendingRequests:
    """The table of forwarded requests, keyed by host id, indexed by caller and target."""

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
        self._by_target: dict[object, set[str]] = {}
        self._by_caller: dict[object, set[str]] = {}
        self._ids = itertools.count(1)
        self.on_empty: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def start(self, caller: object, caller_request_id: str, target: object, target_type: str) -> str:
        """Record a request on its way to ``target``; return the host id to put on the wire."""
        host_id = str(next(self._ids))
        pending = PendingRequest(host_id, caller, caller_request_id, target, target_type)
        pending.timer = self._scheduler.call_later(self.timeout, self._expire, host_id)
        self._pending[host_id] = pending
        self._index(self._by_target, target, host_id)
        self._index(self._by_caller, caller, host_id)
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
        """``target``'s stream ended: remove and return every request pending there."""
        return [self._forget(self._pending[host_id]) for host_id in sorted(self._by_target.get(target, ()), key=int)]

    def forget_caller(self, caller: object) -> int:
        """``caller``'s stream ended: nobody is left to answer, so drop its requests."""
        host_ids = list(self._by_caller.get(caller, ()))
        for host_id in host_ids:
            self._forget(self._pending[host_id])
        return len(host_ids)

    def fail_all(self) -> list[PendingRequest]:
        """Remove and return everything (used at shutdown)."""
        return [self._forget(pending) for pending in list(self._pending.values())]

    def _expire(self, host_id: str) -> None:
        pending = self._pending.get(host_id)
        if pending is None:
            return
        pending.timer = None
        self._forget(pending)
        self._on_expired(pending)

    def _forget(self, pending: PendingRequest) -> PendingRequest:
        del self._pending[pending.host_id]
        if pending.timer is not None:
            pending.timer.cancel()
            pending.timer = None
        self._unindex(self._by_target, pending.target, pending.host_id)
        self._unindex(self._by_caller, pending.caller, pending.host_id)
        if not self._pending and self.on_empty is not None:
            self.on_empty()
        return pending

    @staticmethod
    def _index(index: dict[object, set[str]], connection: object, host_id: str) -> None:
        ids = index.get(connection)
        if ids is None:
            index[connection] = {host_id}
        else:
            ids.add(host_id)

    @staticmethod
    def _unindex(index: dict[object, set[str]], connection: object, host_id: str) -> None:
        ids = index.get(connection)
        if ids is not None:
            ids.discard(host_id)
            if not ids:
                del index[connection]
