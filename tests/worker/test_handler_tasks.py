"""HandlerTasks: bounded concurrency, ordered backlog, backpressure, cancellation on close."""

from __future__ import annotations

import asyncio

from pyruntime.worker.handler_tasks import HandlerTasks


async def test_limit_backlog_and_idle() -> None:
    tasks = HandlerTasks(limit=2, backlog_limit=3)
    release = asyncio.Event()
    running: list[int] = []
    peak = 0
    order: list[int] = []

    async def job(n: int) -> None:
        nonlocal peak
        running.append(n)
        peak = max(peak, len(running))
        await release.wait()
        running.remove(n)
        order.append(n)

    for n in range(5):
        tasks.spawn(job, n)
    await asyncio.sleep(0)
    assert len(running) == 2 and len(tasks) == 5
    # The backlog is at its limit: the reader would wait for room now.
    waiter = asyncio.ensure_future(tasks.wait_for_room())
    await asyncio.sleep(0)
    assert not waiter.done()
    release.set()
    await asyncio.wait_for(tasks.wait_idle(), 2)
    assert waiter.done() and peak == 2 and sorted(order) == [0, 1, 2, 3, 4] and order[:2] == [0, 1]


async def test_close_cancels_running_and_drops_backlog() -> None:
    tasks = HandlerTasks(limit=1)
    cancelled: list[int] = []
    started: list[int] = []

    async def job(n: int) -> None:
        started.append(n)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise

    tasks.spawn(job, 1)
    tasks.spawn(job, 2)
    await asyncio.sleep(0)
    await asyncio.wait_for(tasks.close(), 2)
    assert started == [1] and cancelled == [1] and len(tasks) == 0
    tasks.spawn(job, 3)  # ignored after close
    await asyncio.sleep(0)
    assert started == [1]


async def test_a_failing_job_is_logged_and_frees_its_slot(caplog) -> None:  # type: ignore[no-untyped-def]
    tasks = HandlerTasks(limit=1)
    ran: list[int] = []

    async def boom() -> None:
        raise ValueError("handler bug")

    async def job(n: int) -> None:
        ran.append(n)

    with caplog.at_level("ERROR", logger="pyruntime.worker"):
        tasks.spawn(boom)
        tasks.spawn(job, 1)  # waits in the backlog until the failing job's slot is free
        await asyncio.wait_for(tasks.wait_idle(), 2)
    assert ran == [1] and len(tasks) == 0
    assert any("handler task failed" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_wait_idle_returns_at_once_when_idle_and_wakes_every_waiter() -> None:
    tasks = HandlerTasks()
    await asyncio.wait_for(tasks.wait_idle(), 0.5)  # nothing ever ran
    release = asyncio.Event()

    async def job() -> None:
        await release.wait()

    tasks.spawn(job)
    tasks.spawn(job)
    waiters = [asyncio.ensure_future(tasks.wait_idle()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    release.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 2)
    assert len(tasks) == 0
    # Idle again, then busy again: a new waiter waits for the new job.
    release.clear()
    tasks.spawn(job)
    again = asyncio.ensure_future(tasks.wait_idle())
    await asyncio.sleep(0.01)
    assert not again.done()
    release.set()
    await asyncio.wait_for(again, 2)
