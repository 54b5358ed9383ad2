"""The soak with real workers: GrpcWorkerRuntime publishers and 4 agents on 2 GrpcWorkerRuntime workers.

Same checks as ``soak.py`` (lost / duplicated / out of order per subscriber and publisher), but
the subscribers are agents whose ``@event`` handler records what it gets, so the whole path
is exercised: encode in the publisher's runtime, the host, decode and dispatch in the worker.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pyruntime import Agent, GrpcWorkerRuntime, MessageContext, TopicId, TypeSubscription, event
from tests.reliability.soak import SoakConfig, SoakResult, SubscriberTally

TOPIC = "soak"


@dataclass
class SoakEvent:
    publisher: int
    seq: int  # -1: the publisher's end marker
    pad: str = ""


class SoakSubscriber(Agent):
    """Records each SoakEvent in the tally of its agent type (shared by the type's instances)."""

    def __init__(self, tally: SubscriberTally, ends: asyncio.Event, publishers: int) -> None:
        super().__init__("soak subscriber")
        self.tally = tally
        self.ends = ends
        self.publishers = publishers

    @event
    async def on_event(self, message: SoakEvent, ctx: MessageContext) -> None:
        if message.seq < 0:
            self.tally.ends += 1
            if self.tally.ends == self.publishers:
                self.ends.set()
            return
        self.tally.record(message.publisher, message.seq)


async def run_runtime_soak(address: str, config: SoakConfig) -> SoakResult:
    per_publisher = config.events // config.publishers
    events = per_publisher * config.publishers
    workers = [GrpcWorkerRuntime(address, rpc_timeout=10) for _ in range(config.workers)]
    publishers = [GrpcWorkerRuntime(address, rpc_timeout=10) for _ in range(config.publishers)]
    tallies: list[SubscriberTally] = []
    done: list[asyncio.Event] = []
    for w, worker in enumerate(workers):
        for i in range(config.subscribers_per_worker):
            agent_type = f"soak-agent-{w}-{i}"
            tally = SubscriberTally.new(agent_type, config.publishers, per_publisher)
            ends = asyncio.Event()
            tallies.append(tally)
            done.append(ends)

            def factory(tally: SubscriberTally = tally, ends: asyncio.Event = ends) -> SoakSubscriber:
                return SoakSubscriber(tally, ends, config.publishers)

            await worker.register_factory(agent_type, factory, expected_class=SoakSubscriber)
            await worker.add_subscription(TypeSubscription(topic_type=TOPIC, agent_type=agent_type))
    for publisher in publishers:
        publisher.add_message_types(SoakEvent)
    started_runtimes: list[GrpcWorkerRuntime] = []
    try:
        for runtime in (*workers, *publishers):
            await runtime.start()
            started_runtimes.append(runtime)
        pad = "x" * config.payload_bytes

        async def publish(index: int, runtime: GrpcWorkerRuntime) -> None:
            topic = TopicId(TOPIC, f"publisher-{index}")
            for seq in range(per_publisher):
                await runtime.publish_message(SoakEvent(index, seq, pad), topic)
            await runtime.publish_message(SoakEvent(index, -1), topic)

        started = time.perf_counter()
        completed = True
        try:
            await asyncio.wait_for(
                asyncio.gather(*(publish(i, p) for i, p in enumerate(publishers)), *(e.wait() for e in done)),
                config.timeout,
            )
        except asyncio.TimeoutError:
            completed = False
        seconds = time.perf_counter() - started
    finally:
        for runtime in reversed(started_runtimes):
            await runtime.stop()
    return SoakResult.from_tallies(events, tallies, seconds, completed)
