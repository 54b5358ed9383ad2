"""The host restarts (same port) while a GrpcWorkerRuntime publisher streams events to a worker.

Delivery is at-most-once across the restart: events in flight at the moment of the restart may be lost
(counted and printed), but nothing is duplicated or reordered. Delivery resumes within seconds, with no
gaps after that.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from pyruntime import Agent, Backoff, GrpcWorkerRuntime, HostConnectionLost, MessageContext, TopicId, TypeSubscription, event
from pyruntime.host import AgentRpcHost, HostOptions
from tests.reliability.raw_worker import wait_until

pytestmark = pytest.mark.slow

FAST = Backoff(initial=0.05, maximum=0.5)


@dataclass
class Tick:
    seq: int


class TickCounter(Agent):
    def __init__(self, received: list[int]) -> None:
        super().__init__("tick counter")
        self.received = received

    @event
    async def on_tick(self, message: Tick, ctx: MessageContext) -> None:
        self.received.append(message.seq)


async def test_restart_under_load_loses_only_in_flight_events_and_never_duplicates() -> None:
    first = AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.5))
    await first.start()
    address = first.address
    second: AgentRpcHost | None = None
    received: list[int] = []
    worker = GrpcWorkerRuntime(address, backoff=FAST, rpc_timeout=5)
    await worker.register_factory("counter", lambda: TickCounter(received), expected_class=TickCounter)
    await worker.add_subscription(TypeSubscription(topic_type="ticks", agent_type="counter"))
    publisher = GrpcWorkerRuntime(address, backoff=FAST, rpc_timeout=5)
    publisher.add_message_types(Tick)
    sent: list[int] = []
    refused: list[int] = []
    stop = asyncio.Event()

    async def publish_forever() -> None:
        seq = 0
        while not stop.is_set():
            try:
                await publisher.publish_message(Tick(seq), TopicId("ticks", "load"))
                sent.append(seq)
            except HostConnectionLost:
                refused.append(seq)
            seq += 1
            await asyncio.sleep(0.005)

    publishing: asyncio.Task[None] | None = None
    try:
        async with worker, publisher:
            publishing = asyncio.create_task(publish_forever())
            await wait_until(lambda: len(received) >= 50, timeout=10)
            loop = asyncio.get_running_loop()
            restarted_at = loop.time()
            await asyncio.wait_for(first.stop(), 10)
            # The first host is gone with every stream: nothing more arrives until the worker reconnects,
            # so this splits what came through the first host from what came through the second.
            before_restart = len(received)
            second = AgentRpcHost(address)
            await second.start()
            await wait_until(lambda: len(received) >= before_restart + 50, timeout=15)
            resumed_after = loop.time() - restarted_at
            stop.set()
            await asyncio.wait_for(publishing, 5)
            last = sent[-1]
            await wait_until(lambda: bool(received) and received[-1] == last, timeout=5)
            # Never duplicated, never reordered.
            assert received == sorted(set(received))
            # After delivery resumed there is no gap: everything published from then on arrived.
            resumed_from = received[before_restart]
            assert [s for s in sent if s >= resumed_from] == received[before_restart:]
            # Through the first host there was no gap either: a prefix, whatever was lost is at its end.
            assert received[:before_restart] == list(range(before_restart))
            lost = sorted(set(sent) - set(received))
            assert worker.connection.connects == 2
            assert resumed_after < 8, f"delivery resumed only {resumed_after:.1f}s after the restart"
            print(f"\nrestart under load: {len(sent)} published, {len(refused)} refused while down, "
                  f"{len(lost)} lost in flight, resumed after {resumed_after:.2f}s")
    finally:
        stop.set()
        if publishing is not None:
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
        await first.stop()
        if second is not None:
            await second.stop()
