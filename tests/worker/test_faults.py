"""Faults: the host restarts mid-run; a callee process dies mid-RPC; the host goes away with calls pending."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter

import pytest

from pyruntime import AgentId, AgentRpcHost, Backoff, DeliveryError, GrpcWorkerRuntime, HostConnectionLost, TopicId
from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime.host.options import HostOptions

from .conftest import free_port
from .messages import Answer, Ask, EchoAgent, Note, Recorder, Slow
from .raw_peer import RawPeer

FAST = Backoff(initial=0.05, maximum=0.5)


def subscription_key(sub: pb.Subscription) -> tuple[str, str, str]:
    if sub.WhichOneof("subscription") == "typeSubscription":
        return ("type", sub.typeSubscription.topic_type, sub.typeSubscription.agent_type)
    return ("prefix", sub.typePrefixSubscription.topic_type_prefix, sub.typePrefixSubscription.agent_type)


async def publish_until_received(publisher: GrpcWorkerRuntime, recorder: Recorder, count: int, timeout: float) -> float:
    """Publish a Note every 100 ms until ``count`` deliveries are recorded; return the seconds it took."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def keep_publishing() -> None:
        n = 0
        while len(recorder.items) < count:
            n += 1
            try:
                await publisher.publish_message(Note(f"after restart {n}"), TopicId("notes", "s"))
            except HostConnectionLost:
                pass  # the publisher is reconnecting too
            await asyncio.sleep(0.1)

    await asyncio.wait_for(keep_publishing(), timeout)
    return loop.time() - started


async def start_host_process(address: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruntime.cli", "host", "--address", address, "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    assert line.startswith(b"listening on "), line
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGKILL)
    await process.wait()


async def test_host_killed_and_restarted_on_the_same_port(recorder: Recorder) -> None:
    address = f"127.0.0.1:{free_port()}"
    first = await start_host_process(address)
    second = None
    worker = GrpcWorkerRuntime(address, backoff=FAST, rpc_timeout=5)
    publisher = GrpcWorkerRuntime(address, backoff=FAST, rpc_timeout=5)
    await EchoAgent.register(worker, "alpha")
    try:
        async with worker, publisher:
            await publisher.publish_message(Note("before"), TopicId("notes", "s"))
            assert (await recorder.wait_for(1))[0][1][1] == "before"
            async with RawPeer(address) as silent:
                await silent.register("silent")
                pending = asyncio.create_task(worker.send_message(Ask("never answered"), AgentId("silent", "k"), timeout=20))
                await silent.next("request")
                loop = asyncio.get_running_loop()
                killed_at = loop.time()
                await kill(first)
                # The pending call fails at once with a clear error instead of waiting 20 s.
                with pytest.raises(HostConnectionLost):
                    await asyncio.wait_for(pending, 5)
                assert loop.time() - killed_at < 3
            second = await start_host_process(address)
            recorder.items.clear()
            took = await publish_until_received(publisher, recorder, 1, timeout=10)
            assert took < 5, f"delivery resumed only after {took:.1f} s"
            assert worker.connection.connects == 2
            # Nothing registered twice: the host lists each of the worker's subscriptions once.
            subs = await worker.host_subscriptions()
            keys = Counter(subscription_key(s) for s in subs)
            assert keys == Counter({("prefix", "alpha:", "alpha"): 1, ("type", "notes", "alpha"): 1})
            assert len({s.id for s in subs}) == len(subs)
            # RPC works again as well.
            assert (await worker.send_message(Ask("again"), AgentId("alpha", "k"))).text == "alpha/k:again:anonymous"
    finally:
        await kill(first)
        if second is not None:
            await kill(second)


async def test_stream_drop_with_the_host_alive_registers_nothing_twice(address: str, recorder: Recorder) -> None:
    worker = GrpcWorkerRuntime(address, backoff=FAST, rpc_timeout=5)
    publisher = GrpcWorkerRuntime(address, backoff=FAST, rpc_timeout=5)
    await EchoAgent.register(worker, "alpha")
    async with worker, publisher:
        worker.connection.drop_stream()
        took = await publish_until_received(publisher, recorder, 1, timeout=10)
        assert took < 5
        assert worker.connection.connects == 2
        keys = Counter(subscription_key(s) for s in await worker.host_subscriptions())
        assert keys == Counter({("prefix", "alpha:", "alpha"): 1, ("type", "notes", "alpha"): 1})


async def test_graceful_host_stop_answers_pending_calls() -> None:
    host = AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.3))
    await host.start()
    address = f"127.0.0.1:{host.port}"
    worker = GrpcWorkerRuntime(address, backoff=FAST, rpc_timeout=20)
    async with worker:
        async with RawPeer(address) as silent:
            await silent.register("silent")
            pending = asyncio.create_task(worker.send_message(Ask("x"), AgentId("silent", "k")))
            await silent.next("request")
            await host.stop()
            # Our host answers calls it cannot complete before it goes: an error, not a hang.
            with pytest.raises(DeliveryError):
                await asyncio.wait_for(pending, 10)


async def test_callee_killed_mid_rpc(address: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruntime.cli", "worker", "--host", address,
        "--agents", "tests.worker.messages:register_victim",
        stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert b"worker connected" in line
        caller = GrpcWorkerRuntime(address, rpc_timeout=10)
        caller.add_message_types(Answer)
        async with caller:
            assert (await caller.send_message(Ask("up?"), AgentId("victim", "k"))).text == "victim/k:up?:anonymous"
            call = asyncio.create_task(caller.send_message(Slow(60), AgentId("victim", "k")))
            line = await asyncio.wait_for(process.stdout.readline(), 10)
            assert b"handling slow request" in line
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            process.send_signal(signal.SIGKILL)
            with pytest.raises(DeliveryError) as info:
                await asyncio.wait_for(call, 15)
            assert loop.time() - killed_at < 10  # within the caller's timeout
            assert "disconnected" in str(info.value) or "no reply" in str(info.value)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_start_fails_clearly_without_a_host() -> None:
    worker = GrpcWorkerRuntime(f"127.0.0.1:{free_port()}", connect_timeout=0.5, backoff=FAST)
    with pytest.raises(HostConnectionLost, match="could not connect to the host"):
        await worker.start()
    assert not worker.is_running
    # The same runtime can start later, once a host is there.
    port = int(worker.host_address.rpartition(":")[2])
    async with AgentRpcHost(f"127.0.0.1:{port}"):
        worker.connect_timeout = 15  # generous: a loaded machine may take a while to connect
        await worker.start()
        assert worker.is_connected
        await worker.stop()
