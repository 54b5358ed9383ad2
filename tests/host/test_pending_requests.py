"""PendingRequests, destinations and the outbox, without a server."""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyruntime.host.control import AgentDestination, ClientDestination, MalformedDestinationError, parse_destination
from pyruntime.host.outbox import Outbox
from pyruntime.host.rpc import PendingRequest, PendingRequests


class FakeClock:
    """A scheduler whose time moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[FakeTimer] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> "FakeTimer":
        timer = FakeTimer(self.now + delay, callback, args)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := sorted((t for t in self.timers if t.when <= self.now and not t.cancelled), key=lambda t: t.when):
            timer = due[0]
            timer.cancelled = True
            timer.callback(*timer.args)  # may arm new timers; those that are due run too


class FakeTimer:
    def __init__(self, when: float, callback: Callable[..., object], args: tuple) -> None:
        self.when, self.callback, self.args, self.cancelled = when, callback, args, False

    def cancel(self) -> None:
        self.cancelled = True


def make(timeout: float = 1.0) -> tuple[PendingRequests, FakeClock, list[PendingRequest]]:
    clock, expired = FakeClock(), []
    return PendingRequests(clock, expired.append, timeout), clock, expired


def test_equal_caller_ids_get_distinct_host_ids_and_come_back_restored() -> None:
    pending, _, _ = make()
    c1, c2, target = object(), object(), object()
    h1 = pending.start(c1, "1", target, "T")
    h2 = pending.start(c2, "1", target, "T")
    assert h1 != h2
    done2 = pending.complete(target, h2)
    done1 = pending.complete(target, h1)
    assert (done1.caller, done1.caller_request_id) == (c1, "1")  # type: ignore[union-attr]
    assert (done2.caller, done2.caller_request_id) == (c2, "1")  # type: ignore[union-attr]
    assert len(pending) == 0


def test_unknown_ids_and_wrong_responders_are_not_matched() -> None:
    pending, _, _ = make()
    target, impostor = object(), object()
    host_id = pending.start(object(), "r", target, "T")
    assert pending.complete(target, "999") is None
    assert pending.complete(impostor, host_id) is None
    assert pending.complete(target, host_id) is not None
    assert pending.complete(target, host_id) is None  # answered once only


def test_timeout_fires_once_and_answered_requests_never_time_out() -> None:
    pending, clock, expired = make(timeout=1.0)
    target = object()
    answered = pending.start(object(), "a", target, "T")
    late = pending.start(object(), "b", target, "T")
    pending.complete(target, answered)
    clock.advance(0.5)
    assert expired == []
    clock.advance(0.6)
    assert [p.caller_request_id for p in expired] == ["b"]
    assert pending.complete(target, late) is None and len(pending) == 0


def test_one_timer_serves_many_requests_and_each_expires_at_its_own_deadline() -> None:
    pending, clock, expired = make(timeout=1.0)
    target = object()
    for name in "abc":
        pending.start(object(), name, target, "T")
    clock.advance(0.5)
    pending.start(object(), "d", target, "T")
    assert sum(not t.cancelled for t in clock.timers) == 1  # not one timer per request
    clock.advance(0.6)  # t = 1.1: a, b, c are due, d (deadline 1.5) is not
    assert [p.caller_request_id for p in expired] == ["a", "b", "c"]
    clock.advance(0.3)  # t = 1.4
    assert len(expired) == 3
    clock.advance(0.2)  # t = 1.6
    assert [p.caller_request_id for p in expired] == ["a", "b", "c", "d"]
    assert len(pending) == 0 and sum(not t.cancelled for t in clock.timers) == 0


def test_target_disconnect_fails_exactly_its_requests() -> None:
    pending, clock, expired = make()
    t1, t2, caller = object(), object(), object()
    pending.start(caller, "1", t1, "T")
    pending.start(caller, "2", t2, "U")
    pending.start(caller, "3", t1, "T")
    failed = pending.fail_target(t1)
    assert [p.caller_request_id for p in failed] == ["1", "3"]
    clock.advance(10)
    assert [p.caller_request_id for p in expired] == ["2"]  # failed ones had their timers cancelled


def test_caller_disconnect_forgets_its_requests_and_on_empty_fires() -> None:
    pending, _, _ = make()
    emptied: list[bool] = []
    pending.on_empty = lambda: emptied.append(True)
    caller, target = object(), object()
    pending.start(caller, "1", target, "T")
    pending.start(caller, "2", target, "T")
    assert pending.forget_caller(caller) == 2
    assert len(pending) == 0 and emptied


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PendingRequests(FakeClock(), lambda p: None, 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["1", "2", "x"])), min_size=1, max_size=30))
def test_every_started_request_ends_exactly_once(starts: list[tuple[int, str]]) -> None:
    pending, clock, expired = make()
    callers = [object() for _ in range(4)]
    target = object()
    host_ids = [pending.start(callers[c], rid, target, "T") for c, rid in starts]
    assert len(set(host_ids)) == len(host_ids)
    answered = [pending.complete(target, h) for h in host_ids[::2]]
    clock.advance(5)
    assert len(answered) + len(expired) == len(host_ids)
    ends = [(p.caller, p.caller_request_id) for p in answered + expired]  # type: ignore[union-attr]
    assert sorted(map(id, (c for c, _ in ends))) == sorted(id(callers[c]) for c, _ in starts)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("clientid=B", ClientDestination("B")),
        ("agentid=A/k", AgentDestination("A", "k")),
        ("agentid=A/k/with/slashes", AgentDestination("A", "k/with/slashes")),
        ("agentid=A/", AgentDestination("A", "")),
    ],
)
def test_destinations(value: str, expected: object) -> None:
    assert parse_destination(value) == expected


@pytest.mark.parametrize("value", ["", "agentid=A", "agentid=/k", "clientid=", "client=B", "B"])
def test_malformed_destinations_say_what_to_send(value: str) -> None:
    with pytest.raises(MalformedDestinationError, match="clientid=|agentid="):
        parse_destination(value)


async def test_outbox_is_bounded_fifo_with_timeout_force_and_close() -> None:
    box: Outbox[int] = Outbox(2)
    assert box.put_nowait(1) and box.put_nowait(2)
    assert not box.put_nowait(3)
    assert await box.put(3, timeout=0.05) is False  # nobody reads: times out
    waiting = asyncio.ensure_future(box.put(3, timeout=5))
    await asyncio.sleep(0)
    assert await box.get() == 1  # makes room: the waiting put completes
    assert await asyncio.wait_for(waiting, 5) is True
    box.force(4)
    assert len(box) == 3
    box.close()
    assert box.put_nowait(5) is True and len(box) == 3  # dropped after close
    assert [await box.get() for _ in range(4)] == [2, 3, 4, None]


async def test_outbox_close_wakes_a_blocked_reader_and_discard_drops_frames() -> None:
    box: Outbox[int] = Outbox(4)
    reader = asyncio.ensure_future(box.get())
    await asyncio.sleep(0)
    box.close(discard=True, status=("ABORTED", "why"))
    assert await asyncio.wait_for(reader, 5) is None
    assert box.close_status == ("ABORTED", "why")
