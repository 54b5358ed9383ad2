"""The soak engine: N published events through a host to 4 subscribers on 2 workers.

Shared by the CI test (a few thousand events) and ``python -m tests.reliability.soak_long``
(100k). Publishers are separate clients; each event id is ``<publisher>:<seq>``. Each
worker is one client-id hosting two agent types subscribed to the soak topic: the host
sends one copy per worker (as it does for AutoGen workers), and the worker hands that copy
to each of its local subscribers, which check it:

* lost: an event a subscriber never got;
* duplicated: an event a subscriber got twice;
* out of order: an event that arrived after a later event of the same publisher.

The run ends when every subscriber saw every publisher's end marker (per-publisher order
makes that a fence) or at the timeout.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

import grpc

from pyruntime._proto import agent_worker_pb2 as pb
from tests.reliability.raw_worker import RawWorker, event_message

TOPIC = "soak"
END = "end"


@dataclass(frozen=True)
class SoakConfig:
    events: int
    publishers: int = 2
    workers: int = 2
    subscribers_per_worker: int = 2
    payload_bytes: int = 64
    timeout: float = 60.0
    # Worker 0 as a slow subscriber: it pauses ``slow_pause`` seconds after every ``slow_every`` events.
    slow_every: int = 0
    slow_pause: float = 0.0


@dataclass
class SubscriberTally:
    """What one subscriber (agent type) saw, per publisher."""

    name: str
    seen: list[bytearray]
    last: list[int]
    received: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    ends: int = 0  # end markers seen (one per publisher)

    @classmethod
    def new(cls, name: str, publishers: int, per_publisher: int) -> "SubscriberTally":
        return cls(name, [bytearray(per_publisher) for _ in range(publishers)], [-1] * publishers)

    def record(self, publisher: int, seq: int) -> None:
        seen = self.seen[publisher]
        if seen[seq]:
            self.duplicated += 1
            return
        seen[seq] = 1
        self.received += 1
        if seq <= self.last[publisher]:
            self.out_of_order += 1
        else:
            self.last[publisher] = seq


@dataclass(frozen=True)
class SoakResult:
    events: int
    subscribers: int
    expected_deliveries: int
    delivered: int
    lost: int
    duplicated: int
    out_of_order: int
    seconds: float
    completed: bool

    @classmethod
    def from_tallies(cls, events: int, tallies: "list[SubscriberTally]", seconds: float, completed: bool) -> "SoakResult":
        """Totals over every subscriber: each should have received every event once, in order."""
        expected = events * len(tallies)
        delivered = sum(t.received for t in tallies)
        return cls(
            events=events,
            subscribers=len(tallies),
            expected_deliveries=expected,
            delivered=delivered,
            lost=expected - delivered,
            duplicated=sum(t.duplicated for t in tallies),
            out_of_order=sum(t.out_of_order for t in tallies),
            seconds=seconds,
            completed=completed,
        )

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"events={self.events} subscribers={self.subscribers} delivered={self.delivered}/"
            f"{self.expected_deliveries} lost={self.lost} duplicated={self.duplicated} "
            f"out_of_order={self.out_of_order} seconds={self.seconds:.2f} "
            f"events/s={self.events_per_second:.0f} completed={self.completed}"
        )


class SoakWorker:
    """One worker client hosting ``subscribers`` agent types, all subscribed to the soak topic."""

    def __init__(self, channel: grpc.aio.Channel, index: int, subscribers: int, publishers: int, per_publisher: int,
                 slow_every: int = 0, slow_pause: float = 0.0) -> None:
        self.client = RawWorker(channel, client_id=f"soak-worker-{index}")
        self.slow_every = slow_every
        self.slow_pause = slow_pause
        self.agent_types = [f"soak-sub-{index}-{i}" for i in range(subscribers)]
        self.tallies = [SubscriberTally.new(t, publishers, per_publisher) for t in self.agent_types]
        self.publishers = publishers
        self.done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for agent_type in self.agent_types:
            await self.client.register(agent_type)
            await self.client.subscribe(TOPIC, agent_type)
        await self.client.open(read=False)
        self._task = asyncio.create_task(self._consume(), name=f"soak-{self.client.client_id}")

    async def _consume(self) -> None:
        call = self.client.call
        tallies = self.tallies
        ends_needed = self.publishers
        ends = 0
        seen = 0
        slow_every, slow_pause = self.slow_every, self.slow_pause
        try:
            while True:
                message = await call.read()
                if message is grpc.aio.EOF:
                    return
                publisher_text, _, seq_text = message.cloudEvent.id.partition(":")
                publisher = int(publisher_text)
                if seq_text == END:
                    ends += 1
                    if ends == ends_needed:
                        self.done.set()
                    continue
                seq = int(seq_text)
                for tally in tallies:  # local fan-out to each subscribed agent type
                    tally.record(publisher, seq)
                seen += 1
                if slow_every and seen % slow_every == 0:
                    await asyncio.sleep(slow_pause)
        except grpc.aio.AioRpcError:
            return

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def publish(channel: grpc.aio.Channel, index: int, count: int, payload_bytes: int,
                  progress: list[int] | None = None) -> None:
    """One publisher: ``count`` events in order, then its end marker. ``write`` awaits flow control."""
    client = RawWorker(channel, client_id=f"soak-publisher-{index}")
    await client.open(read=False)
    try:
        template = event_message(TOPIC, f"publisher-{index}", {"pad": "x" * payload_bytes})
        call = client.call
        prefix = f"{index}:"
        for seq in range(count):
            message = pb.Message()
            message.CopyFrom(template)
            message.cloudEvent.id = prefix + str(seq)
            await call.write(message)
            if progress is not None:
                progress[index] = seq + 1
        end = pb.Message()
        end.CopyFrom(template)
        end.cloudEvent.id = prefix + END
        await call.write(end)
        await call.done_writing()
        # Wait for the host to end the call: cancelling now would drop frames still buffered.
        await call.code()
    finally:
        await client.close()


async def run_soak(
    channel_factory: Callable[[], grpc.aio.Channel],
    config: SoakConfig,
    sampler: Callable[[], None] | None = None,
) -> SoakResult:
    """Run one soak against the host the channels reach. ``sampler`` is called every 5 ms while it runs."""
    per_publisher = config.events // config.publishers
    events = per_publisher * config.publishers
    channels = [channel_factory() for _ in range(config.workers + config.publishers)]
    workers = [
        SoakWorker(
            channels[i], i, config.subscribers_per_worker, config.publishers, per_publisher,
            slow_every=config.slow_every if i == 0 else 0, slow_pause=config.slow_pause,
        )
        for i in range(config.workers)
    ]
    sampling: asyncio.Task[None] | None = None
    try:
        for worker in workers:
            await worker.start()
        if sampler is not None:
            async def sample_forever() -> None:
                while True:
                    sampler()
                    await asyncio.sleep(0.005)

            sampling = asyncio.create_task(sample_forever(), name="soak-sampler")
        started = time.perf_counter()
        publishing = [
            publish(channels[config.workers + p], p, per_publisher, config.payload_bytes)
            for p in range(config.publishers)
        ]
        completed = True
        try:
            await asyncio.wait_for(
                asyncio.gather(*publishing, *(w.done.wait() for w in workers)), config.timeout
            )
        except asyncio.TimeoutError:
            completed = False
        seconds = time.perf_counter() - started
    finally:
        if sampling is not None:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
        for worker in workers:
            await worker.close()
        for channel in channels:
            await channel.close()
    tallies = [tally for worker in workers for tally in worker.tallies]
    return SoakResult.from_tallies(events, tallies, seconds, completed)
