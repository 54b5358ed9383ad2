"""One scenario, run unchanged on LocalRuntime and on GrpcWorkerRuntime workers through our
host: the observable results must be identical."""

from __future__ import annotations

from typing import Any

import pytest

from pyruntime import AgentId, AgentRuntime, DeliveryError, GrpcWorkerRuntime, LocalRuntime, TopicId

from .messages import Ask, Chain, EchoAgent, Fail, Note, Nothing, ProtoNote, Recorder


async def scenario(driver: AgentRuntime, recorder: Recorder) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["ask"] = await driver.send_message(Ask("hi"), AgentId("alpha", "k"))
    out["ask_with_sender"] = await driver.send_message(Ask("hi"), AgentId("beta", "k"), sender=AgentId("alpha", "k"))
    out["chain"] = (await driver.send_message(Chain(depth=3), AgentId("alpha", "k"))).route
    out["none"] = await driver.send_message(Nothing(), AgentId("beta", "k"))
    out["proto"] = (await driver.send_message(ProtoNote(type="p"), AgentId("beta", "k"))).type
    for label, message, target in (
        ("fail", Fail("nope"), AgentId("alpha", "k")),
        ("missing", Ask("?"), AgentId("gamma", "k")),
    ):
        try:
            await driver.send_message(message, target)
        except DeliveryError as error:
            out[label] = (type(error).__name__, getattr(error, "remote_error", None))
    await driver.publish_message(Note("n"), TopicId("notes", "s"))
    await driver.publish_message(ProtoNote(type="pn"), TopicId("notes", "s"))
    await driver.publish_message(Ask("r"), TopicId("alpha:direct", "s"))
    out["events"] = sorted(map(repr, await recorder.wait_for(5)))
    return out


async def run_local(recorder: Recorder) -> dict[str, Any]:
    runtime = LocalRuntime(rpc_timeout=5)
    await EchoAgent.register(runtime, "alpha")
    await EchoAgent.register(runtime, "beta")
    async with runtime:
        return await scenario(runtime, recorder)


async def run_grpc(address: str, recorder: Recorder, payload_format: str) -> dict[str, Any]:
    alpha = GrpcWorkerRuntime(address, payload_format=payload_format, rpc_timeout=5)
    beta = GrpcWorkerRuntime(address, payload_format=payload_format, rpc_timeout=5)
    driver = GrpcWorkerRuntime(address, payload_format=payload_format, rpc_timeout=5)
    await EchoAgent.register(alpha, "alpha")
    await EchoAgent.register(beta, "beta")
    driver.add_message_types(Ask, Chain, Fail, Note, Nothing, ProtoNote, *EchoAgent.reply_types())
    async with alpha, beta, driver:
        return await scenario(driver, recorder)


@pytest.mark.parametrize("payload_format", ["json", "protobuf"])
async def test_local_and_grpc_give_identical_results(address: str, recorder: Recorder, payload_format: str) -> None:
    local = await run_local(recorder)
    recorder.items.clear()
    remote = await run_grpc(address, recorder, payload_format)
    assert local == remote
    # And the scenario did observe what it is meant to observe.
    assert local["chain"] == ["alpha/k", "beta/k", "alpha/k", "beta/k"]
    assert local["none"] is None
    assert local["fail"] == ("RpcError", "nope")
    assert local["missing"][0] == "RecipientNotFound"
    assert local["ask"].text == "alpha/k:hi:anonymous"
    assert local["ask_with_sender"].text == "beta/k:hi:alpha/k"
    assert local["proto"] == "p@beta/k"
    assert len(local["events"]) == 5 and not any("'alpha/s', ('note', 'relayed" in e for e in local["events"])
