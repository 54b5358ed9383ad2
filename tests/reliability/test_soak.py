"""Soak and backpressure, CI-sized: nothing lost, duplicated or reordered; queues stay bounded.

The long run is ``python -m tests.reliability.soak_long --events 100000``.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from pyruntime.host import AgentRpcHost, HostOptions
from tests.reliability.raw_worker import RawWorker, event_message, wait_until
from tests.reliability.runtime_soak import run_runtime_soak
from tests.reliability.soak import SoakConfig, run_soak

pytestmark = pytest.mark.slow

CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]  # one connection per client, like separate processes


def outbox_depths(host: AgentRpcHost) -> dict[str, int]:
    """Frames queued in the host for each client's data stream right now."""
    depths: dict[str, int] = {}
    for client in host.routing.clients():
        stream = client.connection
        if stream is not None:
            depths[client.client_id] = len(stream.outbox)  # type: ignore[attr-defined]
    return depths


async def test_soak_5k_events_to_4_subscribers_on_2_workers() -> None:
    bound = 256
    options = HostOptions(outbound_queue_size=bound)
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        peak = {"depth": 0}

        def sample() -> None:
            peak["depth"] = max([peak["depth"], *outbox_depths(host).values()])

        result = await run_soak(
            lambda: grpc.aio.insecure_channel(host.address, options=CHANNEL_OPTIONS),
            SoakConfig(events=5000, publishers=2, timeout=45),
            sampler=sample,
        )
        assert result.completed, result.summary()
        assert (result.lost, result.duplicated, result.out_of_order) == (0, 0, 0), result.summary()
        assert result.delivered == 4 * 5000
        # Each event went through the host once and was copied once per worker (not per agent type).
        assert host.stats.events_received == 5000 + 2  # plus the two end markers
        assert host.stats.events_delivered == 2 * (5000 + 2)
        assert peak["depth"] <= bound
        assert host.stats.slow_streams_closed == 0


async def test_soak_with_real_workers_2k_events_to_4_agents_on_2_workers() -> None:
    async with AgentRpcHost("127.0.0.1:0") as host:
        result = await run_runtime_soak(host.address, SoakConfig(events=2000, publishers=2, timeout=45))
        assert result.completed, result.summary()
        assert (result.lost, result.duplicated, result.out_of_order) == (0, 0, 0), result.summary()
        assert result.delivered == 4 * 2000
        # One copy per worker: the host sent 2 copies of each event (and of the two end markers).
        assert host.stats.events_delivered == 2 * (2000 + 2)


async def publish_numbered(publisher: RawWorker, topic: str, count: int, progress: list[int], pad: int) -> None:
    template = event_message(topic, "bp", {"pad": "x" * pad})
    for seq in range(count):
        message = type(template)()
        message.CopyFrom(template)
        message.cloudEvent.id = str(seq)
        await publisher.send(message)
        progress[0] = seq + 1


async def wait_for_stall(progress: list[int], quiet: float = 0.5, timeout: float = 20.0) -> int:
    """Wait until the publisher made no progress for ``quiet`` seconds; return how far it got."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last, since = -1, loop.time()
    while loop.time() < deadline:
        if progress[0] != last:
            last, since = progress[0], loop.time()
        elif loop.time() - since >= quiet:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"the publisher never stalled (sent {progress[0]})")


async def drain_ids(worker: RawWorker, count: int, timeout: float) -> list[int]:
    ids: list[int] = []
    async with asyncio.timeout(timeout):
        while len(ids) < count:
            ids.append(int((await worker.inbox.get()).cloudEvent.id))
    return ids


async def test_slow_subscriber_backpressures_the_publisher_and_queues_stay_bounded() -> None:
    bound, total, pad = 64, 3_000, 16 * 1024  # 48 MB offered; the host may hold 64 frames per stream
    options = HostOptions(outbound_queue_size=bound, send_timeout=60)
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        channels = [grpc.aio.insecure_channel(host.address, options=CHANNEL_OPTIONS) for _ in range(3)]
        slow, fast, publisher = (RawWorker(c) for c in channels)
        for worker, agent_type in ((slow, "slow"), (fast, "fast")):
            await worker.register(agent_type)
            await worker.subscribe("bp", agent_type)
        await slow.open(read=False)  # does not read at all for now
        await fast.open()
        await publisher.open(read=False)
        progress = [0]
        peak = {"slow": 0, "fast": 0}

        async def sample() -> None:
            while True:
                depths = outbox_depths(host)
                peak["slow"] = max(peak["slow"], depths.get(slow.client_id, 0))
                peak["fast"] = max(peak["fast"], depths.get(fast.client_id, 0))
                await asyncio.sleep(0.002)

        sampler = asyncio.create_task(sample())
        publishing = asyncio.create_task(publish_numbered(publisher, "bp", total, progress, pad))
        try:
            stalled_at = await wait_for_stall(progress)
            # Backpressure: the publisher is held up long before it has sent everything,
            # and the host holds no more than its bound for the stalled subscriber.
            assert stalled_at < total // 2, stalled_at
            assert len(host.routing.client(slow.client_id).connection.outbox) == bound  # type: ignore[union-attr]
            assert peak["slow"] <= bound
            assert not publishing.done()
            # The slow subscriber starts reading: everything arrives, complete and in order, for both.
            slow.start_reading()
            await asyncio.wait_for(publishing, 60)
            for worker in (slow, fast):
                assert await drain_ids(worker, total, timeout=60) == list(range(total))
            assert peak["slow"] <= bound and peak["fast"] <= bound
            assert host.stats.slow_streams_closed == 0
            print(f"\nbackpressure: publisher stalled after {stalled_at} of {total} events; "
                  f"host queue peak {peak['slow']} (bound {bound})")
        finally:
            sampler.cancel()
            publishing.cancel()
            await asyncio.gather(sampler, publishing, return_exceptions=True)
            for worker in (slow, fast, publisher):
                await worker.close()
            for channel in channels:
                await channel.close()


async def test_a_subscriber_that_never_reads_is_cut_off_and_the_others_get_everything() -> None:
    # 32 MB: more than HTTP/2 flow-control windows can absorb (they grow to ~10 MB here), so the
    # host's queue for the stuck stream must fill and stay full.
    bound, total, pad = 32, 2000, 16 * 1024
    options = HostOptions(outbound_queue_size=bound, send_timeout=0.5)
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        channels = [grpc.aio.insecure_channel(host.address, options=CHANNEL_OPTIONS) for _ in range(3)]
        stuck, healthy, publisher = (RawWorker(c) for c in channels)
        try:
            for worker, agent_type in ((stuck, "stuck"), (healthy, "healthy")):
                await worker.register(agent_type)
                await worker.subscribe("cut", agent_type)
            await stuck.open(read=False)
            await healthy.open()
            await publisher.open(read=False)
            progress = [0]
            await asyncio.wait_for(publish_numbered(publisher, "cut", total, progress, pad), 30)
            assert await drain_ids(healthy, total, timeout=30) == list(range(total))
            await wait_until(lambda: host.stats.slow_streams_closed == 1, timeout=5)
            # The stuck stream was ended with RESOURCE_EXHAUSTED and its agent type released.
            stuck.start_reading()
            await asyncio.wait_for(stuck.stream_ended.wait(), 10)
            assert stuck.stream_error is not None
            assert stuck.stream_error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert host.routing.owners("stuck") == ()
        finally:
            for worker in (stuck, healthy, publisher):
                await worker.close()
            for channel in channels:
                await channel.close()
