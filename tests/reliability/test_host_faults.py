"""Faults seen from the host: a worker killed mid-RPC, streams dropped mid-message or mid-burst,
the host restarted on the same port. Nobody hangs: every pending call ends with an error
within its timeout, and the survivors (and a restarted worker) carry on.

(The worker's own view of a host restart and of a killed callee is in tests/worker/test_faults.py.)
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass

import grpc
import pytest

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime.host import AgentRpcHost, HostOptions
from tests.reliability.raw_worker import RawWorker, event_message, request_message, response_message, wait_until
from tests.reliability.tcp_proxy import CuttingProxy

pytestmark = pytest.mark.slow

CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]


def channel_to(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)


async def start_callee(address: str, agent_type: str, mode: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.reliability.callee_process", address, agent_type, mode,
        stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    assert line.strip() == b"ready", line
    return process


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await asyncio.wait_for(process.wait(), 10)


async def test_worker_killed_mid_rpc_fails_every_pending_call_and_a_new_worker_takes_over() -> None:
    async with AgentRpcHost("127.0.0.1:0", HostOptions(rpc_timeout=30)) as host:
        victim = await start_callee(host.address, "fragile", "hang")
        replacement = None
        callers = [RawWorker(channel_to(host.address)) for _ in range(3)]
        try:
            for caller in callers:
                await caller.open()
            for caller in callers:  # the same request ids from every caller: the host keeps them apart
                for n in range(5):
                    await caller.send(request_message(f"r{n}", "fragile"))
            assert victim.stdout is not None
            for _ in range(15):  # the victim holds all 15 requests, unanswered
                line = await asyncio.wait_for(victim.stdout.readline(), 10)
                assert line.startswith(b"request ")
            errors_before = host.stats.rpc_errors_sent  # the callers' attach probes were answered with errors
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            victim.send_signal(signal.SIGKILL)
            for caller in callers:
                errors = [await caller.next_response(timeout=10) for _ in range(5)]
                assert sorted(e.request_id for e in errors) == [f"r{n}" for n in range(5)]
                assert all("disconnected" in e.error for e in errors), errors[0].error
            took = loop.time() - killed_at
            assert took < 5, f"pending calls ended {took:.1f}s after the kill (timeout is 30s)"
            print(f"\nworker killed: 15 pending calls failed within {took * 1000:.0f} ms")
            await wait_until(lambda: host.routing.owners("fragile") == (), timeout=5)
            assert host.stats.rpc_errors_sent - errors_before == 15
            # Recovery: a new worker process registers the freed type and answers.
            replacement = await start_callee(host.address, "fragile", "answer")
            await callers[0].send(request_message("again", "fragile"))
            reply = await callers[0].next_response()
            assert (reply.request_id, reply.error) == ("again", "")
            assert all(caller.stream_error is None and not caller.stream_ended.is_set() for caller in callers)
        finally:
            for caller in callers:
                await caller.close()
                await caller.channel.close()
            await stop_process(victim)
            if replacement is not None:
                await stop_process(replacement)


async def test_callee_dropping_its_stream_fails_pending_calls_and_late_answers_are_ignored() -> None:
    async with AgentRpcHost("127.0.0.1:0", HostOptions(rpc_timeout=30)) as host, channel_to(host.address) as channel:
        callee, caller = RawWorker(channel), RawWorker(channel)
        await callee.register("dropper")
        await callee.open()
        await caller.open()
        try:
            for n in range(10):
                await caller.send(request_message(f"q{n}", "dropper"))
            for _ in range(10):
                assert (await callee.next()).HasField("request")
            await callee.close()  # cancelled mid-conversation, 10 requests pending
            errors = [await caller.next_response(timeout=5) for _ in range(10)]
            assert {e.request_id for e in errors} == {f"q{n}" for n in range(10)}
            assert all(e.error for e in errors)
            # The caller goes away with a request pending; the callee's late answer is dropped quietly.
            late = RawWorker(channel)
            await late.register("dropper")
            await late.open()
            await caller.send(request_message("orphan", "dropper"))
            forwarded = (await late.next()).request
            await caller.close()
            await asyncio.wait_for(caller.stream_ended.wait(), 5)
            await wait_until(lambda: host.routing.client(caller.client_id) is None, timeout=5)
            await late.send(response_message(forwarded.request_id))
            await wait_until(lambda: host.stats.responses_unknown == 1, timeout=5)
            # ... and the host still serves: a fresh caller gets its round trip.
            fresh = RawWorker(channel)
            await fresh.open()
            await fresh.send(request_message("fresh", "dropper"))
            req = (await late.next()).request
            await late.send(response_message(req.request_id))
            assert (await fresh.next_response()).request_id == "fresh"
            await fresh.close()
            await late.close()
        finally:
            await caller.close()
            await callee.close()


@dataclass
class Fence:
    """Proves a subscriber got nothing more: after a fence event from a live publisher, nothing else is queued."""

    publisher: RawWorker

    async def check(self, subscriber: RawWorker, topic: str, name: str) -> list[str]:
        await self.publisher.send(event_message(topic, "fence", {}, event_id=name))
        seen: list[str] = []
        while True:
            message = await subscriber.next(timeout=5)
            if message.cloudEvent.id == name:
                return seen
            seen.append(message.cloudEvent.id)


async def test_publisher_connection_cut_in_the_middle_of_a_message() -> None:
    async with AgentRpcHost("127.0.0.1:0") as host, channel_to(host.address) as direct:
        async with CuttingProxy(host.address) as proxy, channel_to(proxy.address) as cut_channel:
            subscriber = RawWorker(direct)
            await subscriber.register("listener")
            await subscriber.subscribe("cut", "listener")
            await subscriber.open()
            publisher = RawWorker(cut_channel)
            await publisher.register("doomed")  # to check it is released
            await publisher.open()
            witness = RawWorker(direct)
            await witness.open()
            try:
                for n in range(3):
                    await publisher.send(event_message("cut", "p", {}, event_id=f"small-{n}"))
                for n in range(3):
                    assert (await subscriber.next()).cloudEvent.id == f"small-{n}"
                proxy.arm_cut("up", 200_000)  # then cut 200 kB into the next (1 MB) frame
                await publisher.send(event_message("cut", "p", {"pad": "x" * 1_000_000}, event_id="big"))
                await asyncio.wait_for(proxy.cut_done.wait(), 5)
                await asyncio.wait_for(publisher.stream_ended.wait(), 10)
                assert publisher.stream_error is not None
                assert publisher.stream_error.code() == grpc.StatusCode.UNAVAILABLE
                # Half a frame is never delivered; the subscriber sees nothing between the smalls and the fence.
                assert await Fence(witness).check(subscriber, "cut", "fence-1") == []
                await wait_until(lambda: host.routing.owners("doomed") == (), timeout=5)
                assert host.stats.frames_undecodable == 0
            finally:
                for worker in (publisher, subscriber, witness):
                    await worker.close()


async def test_subscriber_connection_cut_in_the_middle_of_a_message() -> None:
    async with AgentRpcHost("127.0.0.1:0", HostOptions(send_timeout=2)) as host, channel_to(host.address) as direct:
        async with CuttingProxy(host.address) as proxy, channel_to(proxy.address) as cut_channel:
            far = RawWorker(cut_channel)
            await far.register("far")
            await far.subscribe("down", "far")
            await far.open()
            near = RawWorker(direct)
            await near.register("near")
            await near.subscribe("down", "near")
            await near.open()
            publisher = RawWorker(direct)
            await publisher.open()
            try:
                await publisher.send(event_message("down", "p", {}, event_id="warmup"))
                assert (await far.next()).cloudEvent.id == "warmup"
                assert (await near.next()).cloudEvent.id == "warmup"
                proxy.arm_cut("down", 300_000)
                await publisher.send(event_message("down", "p", {"pad": "y" * 1_000_000}, event_id="big"))
                await asyncio.wait_for(proxy.cut_done.wait(), 5)
                await asyncio.wait_for(far.stream_ended.wait(), 10)
                assert far.stream_error is not None and far.stream_error.code() == grpc.StatusCode.UNAVAILABLE
                assert far.inbox.empty()  # no partial message surfaced
                # The publisher is not held up by the dead subscriber; the live one gets everything in order.
                assert (await near.next()).cloudEvent.id == "big"
                for n in range(20):
                    await asyncio.wait_for(publisher.send(event_message("down", "p", {}, event_id=f"after-{n}")), 5)
                assert [(await near.next()).cloudEvent.id for _ in range(20)] == [f"after-{n}" for n in range(20)]
                await wait_until(lambda: host.routing.owners("far") == (), timeout=5)
            finally:
                for worker in (far, near, publisher):
                    await worker.close()


async def test_publisher_cancelled_in_the_middle_of_a_burst() -> None:
    async with AgentRpcHost("127.0.0.1:0") as host, channel_to(host.address) as channel, \
            channel_to(host.address) as pub_channel:
        subscriber = RawWorker(channel)
        await subscriber.register("burst-sink")
        await subscriber.subscribe("burst", "burst-sink")
        await subscriber.open()
        witness = RawWorker(channel)
        await witness.open()
        publisher = RawWorker(pub_channel)
        await publisher.register("burster")
        await publisher.open()
        total = 3000

        async def burst() -> None:
            for n in range(total):
                await publisher.send(event_message("burst", "p", {"pad": "z" * 512}, event_id=str(n)))

        sending = asyncio.create_task(burst())
        try:
            await wait_until(lambda: host.stats.events_received >= 500, timeout=10)
            publisher.call.cancel()  # mid-burst: some frames written, some buffered, some never sent
            with pytest.raises((asyncio.CancelledError, asyncio.InvalidStateError, grpc.aio.AioRpcError)):
                await asyncio.wait_for(sending, 5)
            await asyncio.wait_for(publisher.stream_ended.wait(), 5)
            received = await Fence(witness).check(subscriber, "burst", "fence-burst")
            numbers = [int(i) for i in received]
            # A contiguous prefix: nothing lost in the middle, nothing twice, nothing reordered.
            assert numbers == list(range(len(numbers)))
            assert 500 <= len(numbers) <= total
            await wait_until(lambda: host.routing.owners("burster") == (), timeout=5)
            assert host.stats.frames_undecodable == 0
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            for worker in (subscriber, witness, publisher):
                await worker.close()


async def test_host_restarted_on_the_same_port_ends_every_call_and_serves_again() -> None:
    first = AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.5, rpc_timeout=30))
    await first.start()
    address = first.address
    channel = channel_to(address)
    callee, caller, idle = RawWorker(channel), RawWorker(channel), RawWorker(channel)
    second: AgentRpcHost | None = None
    try:
        await callee.register("held")
        for worker in (callee, caller, idle):
            await worker.open()
        await caller.send(request_message("held-1", "held"))
        assert (await callee.next()).HasField("request")
        loop = asyncio.get_running_loop()
        stopping_at = loop.time()
        await asyncio.wait_for(first.stop(), 10)
        # The pending call got an error reply, and every stream ended with UNAVAILABLE: nobody hangs.
        reply = await caller.next_response(timeout=5)
        assert reply.request_id == "held-1" and "shut down" in reply.error
        for worker in (callee, caller, idle):
            await asyncio.wait_for(worker.stream_ended.wait(), 5)
            assert worker.stream_error is not None and worker.stream_error.code() == grpc.StatusCode.UNAVAILABLE
        assert loop.time() - stopping_at < 5
        # While the host is down a call fails within its deadline instead of waiting.
        with pytest.raises(grpc.aio.AioRpcError) as down:
            await caller.register("meanwhile", timeout=1)
        assert down.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        # A new host on the same port; the same channel reconnects (gRPC backs off, so wait
        # for it to be ready, boundedly) and everything works again.
        second = AgentRpcHost(address, HostOptions(rpc_timeout=30))
        await second.start()
        assert second.address == address
        await caller.stub.GetSubscriptions(
            pb.GetSubscriptionsRequest(), metadata=caller.metadata, wait_for_ready=True, timeout=10
        )
        for worker in (callee, caller):
            await worker.close()
        again_callee, again_caller = RawWorker(channel, client_id=callee.client_id), RawWorker(channel)
        await again_callee.register("held", timeout=10)
        await again_callee.open()
        await again_caller.open()
        await again_caller.send(request_message("held-2", "held"))
        request = (await again_callee.next()).request
        await again_callee.send(response_message(request.request_id))
        assert (await again_caller.next_response()).request_id == "held-2"
        await again_callee.close()
        await again_caller.close()
    finally:
        for worker in (callee, caller, idle):
            await worker.close()
        await first.stop()
        if second is not None:
            await second.stop()
        await channel.close()
