"""LocalRuntime semantics: RPC, errors, timeouts, cancellation, publish, concurrency, state."""

from __future__ import annotations

import asyncio

import pytest

from pyruntime import (
    AgentId,
    AgentRuntime,
    CancellationToken,
    DeliveryError,
    LocalRuntime,
    RecipientNotFound,
    RpcCancelled,
    RpcError,
    RpcTimeout,
    RuntimeNotRunning,
    TopicId,
)

from .messages import Answer, Ask, Chain, EchoAgent, Fail, Note, Nothing, Recorder, Slow


@pytest.fixture
async def runtime() -> LocalRuntime:
    rt = LocalRuntime(rpc_timeout=5)
    await EchoAgent.register(rt, "alpha")
    await EchoAgent.register(rt, "beta")
    await rt.start()
    yield rt
    await rt.stop()


def test_both_runtimes_implement_the_interface() -> None:
    from pyruntime import GrpcWorkerRuntime

    assert isinstance(LocalRuntime(), AgentRuntime)
    assert isinstance(GrpcWorkerRuntime("127.0.0.1:1"), AgentRuntime)  # constructing does not connect


async def test_rpc_reply_error_none_and_missing(runtime: LocalRuntime) -> None:
    reply = await runtime.send_message(Ask("hi"), AgentId("alpha", "k"), sender=AgentId("beta", "k"))
    assert reply == Answer(text="alpha/k:hi:beta/k")
    with pytest.raises(RpcError, match="^bad input$") as info:
        await runtime.send_message(Fail("bad input"), AgentId("alpha", "k"))
    assert isinstance(info.value, DeliveryError) and info.value.remote_error == "bad input"
    assert await runtime.send_message(Nothing(), AgentId("alpha", "k")) is None
    with pytest.raises(RecipientNotFound, match="'gamma'"):
        await runtime.send_message(Ask("x"), AgentId("gamma", "k"))


async def test_a_b_a_chain_does_not_deadlock(runtime: LocalRuntime) -> None:
    reply = await asyncio.wait_for(runtime.send_message(Chain(depth=4), AgentId("alpha", "k")), 5)
    assert reply.route == ["alpha/k", "beta/k", "alpha/k", "beta/k", "alpha/k"]


async def test_timeout_and_cancellation(runtime: LocalRuntime) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RpcTimeout, match="no reply within 0.2 s"):
        await runtime.send_message(Slow(5), AgentId("alpha", "k"), timeout=0.2)
    assert loop.time() - started < 2
    token = CancellationToken()
    loop.call_later(0.1, token.cancel)
    with pytest.raises(RpcCancelled):
        await runtime.send_message(Slow(5), AgentId("alpha", "k"), cancellation=token)
    with pytest.raises(RpcCancelled):
        await runtime.send_message(Ask("late"), AgentId("alpha", "k"), cancellation=token)


async def test_handlers_run_concurrently(runtime: LocalRuntime) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    replies = await asyncio.gather(*(runtime.send_message(Slow(0.3), AgentId("alpha", str(i))) for i in range(20)))
    assert [r.text for r in replies] == ["slow done"] * 20
    assert loop.time() - started < 2  # 20 × 0.3 s sequentially would be 6 s


async def test_publish_reaches_subscribers_but_not_the_sender(runtime: LocalRuntime, recorder: Recorder) -> None:
    await runtime.publish_message(Note("n1"), TopicId("notes", "s"), sender=AgentId("alpha", "s"))
    items = await recorder.wait_for(1)
    assert items == [("beta/s", ("note", "n1", "alpha/s", False))]
    # An agent publishing from its handler never gets its own event back.
    await runtime.publish_message(Ask("x"), TopicId("alpha:direct", "s"))
    items = await recorder.wait_for(2)
    assert items[1] == ("beta/s", ("note", "relayed x", "alpha/s", False))
    await asyncio.sleep(0.05)  # a stray self-delivery would have arrived by now
    assert len(recorder.items) == 2


async def test_state_round_trip(runtime: LocalRuntime) -> None:
    await runtime.send_message(Ask("1"), AgentId("alpha", "k"))
    await runtime.send_message(Ask("2"), AgentId("alpha", "k"))
    saved = await runtime.save_state()
    assert saved["alpha/k"] == {"counter": 2}
    await runtime.load_agent_state(AgentId("alpha", "k"), {"counter": 40})
    assert await runtime.save_agent_state(AgentId("alpha", "k")) == {"counter": 40}
    await runtime.load_state(saved)
    assert await runtime.save_agent_state(AgentId("alpha", "k")) == {"counter": 2}


async def test_not_running_is_a_clear_error() -> None:
    rt = LocalRuntime()
    await EchoAgent.register(rt, "alpha")
    with pytest.raises(RuntimeNotRunning, match="start"):
        await rt.send_message(Ask("x"), AgentId("alpha", "k"))


async def test_stop_cancels_running_handlers() -> None:
    rt = LocalRuntime()
    await EchoAgent.register(rt, "alpha")
    await rt.start()
    call = asyncio.create_task(rt.send_message(Slow(30), AgentId("alpha", "k"), timeout=None))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(rt.stop(), 2)
    with pytest.raises(RpcCancelled, match="runtime stopped"):
        await asyncio.wait_for(call, 2)
