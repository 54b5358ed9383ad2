"""Interop with autogen-ext 0.7.5, both directions:

- our workers through AutoGen's host (GrpcWorkerAgentRuntimeHost);
- AutoGen workers (GrpcWorkerAgentRuntime + RoutedAgent) through our host, exchanging dataclass
  JSON and protobuf events with our workers, and RPCs in both directions (AutoGen sends and
  expects JSON for RPC; our worker answers in the request's format).
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest

pytest.importorskip("autogen_ext.runtimes.grpc", reason="autogen-ext[grpc]==0.7.5 is not installed in this environment")

from autogen_core import PROTOBUF_DATA_CONTENT_TYPE, RoutedAgent, message_handler, try_get_known_serializers_for_type
from autogen_core import AgentId as AgAgentId
from autogen_core import MessageContext as AgMessageContext
from autogen_core import TopicId as AgTopicId
from autogen_core import TypeSubscription as AgTypeSubscription
from autogen_core._serialization import UnknownPayload
from autogen_ext.runtimes.grpc import GrpcWorkerAgentRuntime, GrpcWorkerAgentRuntimeHost

from pyruntime import AgentId, GrpcWorkerRuntime, RpcError, RpcTimeout, TopicId

from .conftest import free_port
from .messages import Answer, Ask, Chain, EchoAgent, Fail, Note, Nothing, ProtoNote, Recorder, recorder

pytestmark = pytest.mark.autogen


class AutogenEcho(RoutedAgent):
    """An AutoGen agent: records events, answers Ask, raises on Fail."""

    def __init__(self) -> None:
        super().__init__("autogen echo")

    @message_handler
    async def on_note(self, message: Note, ctx: AgMessageContext) -> None:
        recorder().add("autogen:" + str(self.id), ("note", message.text, str(ctx.sender) if ctx.sender else None))

    @message_handler
    async def on_proto(self, message: ProtoNote, ctx: AgMessageContext) -> None:
        recorder().add("autogen:" + str(self.id), ("proto", message.type, str(ctx.sender) if ctx.sender else None))

    @message_handler
    async def on_ask(self, message: Ask, ctx: AgMessageContext) -> Answer:
        return Answer(text="autogen " + str(self.id) + ":" + message.text)

    @message_handler
    async def on_fail(self, message: Fail, ctx: AgMessageContext) -> Answer:
        raise ValueError(message.reason)


async def autogen_worker(address: str, payload_format: str = "application/json") -> GrpcWorkerAgentRuntime:
    runtime = GrpcWorkerAgentRuntime(host_address=address, payload_serialization_format=payload_format)
    for cls in (Note, Ask, Answer, Fail, Nothing, ProtoNote):
        runtime.add_message_serializer(try_get_known_serializers_for_type(cls))
    await runtime.start()
    await AutogenEcho.register(runtime, "agecho", AutogenEcho)
    await runtime.add_subscription(AgTypeSubscription(topic_type="notes", agent_type="agecho"))
    return runtime


@pytest.fixture
async def autogen_host() -> AsyncIterator[str]:
    address = f"127.0.0.1:{free_port()}"
    host = GrpcWorkerAgentRuntimeHost(address=address)
    host.start()
    try:
        yield address
    finally:
        await host.stop(grace=0)


@pytest.mark.parametrize("payload_format", ["json", "protobuf"])
async def test_our_workers_through_autogens_host(autogen_host: str, recorder: Recorder, payload_format: str) -> None:
    alpha = GrpcWorkerRuntime(autogen_host, payload_format=payload_format, rpc_timeout=5)
    beta = GrpcWorkerRuntime(autogen_host, payload_format=payload_format, rpc_timeout=5)
    await EchoAgent.register(alpha, "alpha")
    await EchoAgent.register(beta, "beta")
    async with alpha, beta:
        assert (await alpha.send_message(Ask("hi"), AgentId("beta", "k"))).text == "beta/k:hi:anonymous"
        assert (await alpha.send_message(ProtoNote(type="p"), AgentId("beta", "k"))).type == "p@beta/k"
        assert await alpha.send_message(Nothing(), AgentId("beta", "k")) is None
        with pytest.raises(RpcError, match="^bad$"):
            await beta.send_message(Fail("bad"), AgentId("alpha", "k"))
        chain = await asyncio.wait_for(alpha.send_message(Chain(depth=3), AgentId("alpha", "k")), 10)
        assert chain.route == ["alpha/k", "beta/k"] * 2
        # AutoGen's host never answers an RPC to an unknown type: our default timeout ends the wait.
        with pytest.raises(RpcTimeout):
            await alpha.send_message(Ask("x"), AgentId("gamma", "k"), timeout=0.5)
        await alpha.publish_message(Note("n"), TopicId("notes", "s"), sender=AgentId("alpha", "s"))
        await alpha.publish_message(ProtoNote(type="pn"), TopicId("notes", "s"))
        items = await recorder.wait_for(3)
        assert sorted(map(repr, items)) == sorted(map(repr, [
            ("beta/s", ("note", "n", "alpha/s", False)),
            ("alpha/s", ("proto", "pn", None, False)),
            ("beta/s", ("proto", "pn", None, False)),
        ]))
        # State over the control channel through AutoGen's host (it routes agentid= destinations too).
        assert await alpha.save_agent_state_remote(AgentId("beta", "k"), timeout=5) == {"counter": 1}


@pytest.mark.parametrize("autogen_format", ["application/json", PROTOBUF_DATA_CONTENT_TYPE])
async def test_autogen_and_our_workers_exchange_events(address: str, recorder: Recorder, autogen_format: str) -> None:
    ours = GrpcWorkerRuntime(address)  # "auto": protobuf messages as protobuf, dataclasses as JSON
    await EchoAgent.register(ours, "alpha")
    ag = await autogen_worker(address, autogen_format)
    expected = [
        # Ours → AutoGen: the sender's own agent is skipped, everyone else gets it once.
        ("autogen:agecho/s", ("note", "from ours", "alpha/s")),
        ("autogen:agecho/s", ("proto", "our-proto", "unknown/unknown")),  # we write AutoGen's anonymous sender
        ("alpha/s", ("proto", "our-proto", None, False)),
    ]
    try:
        async with ours:
            if autogen_format == "application/json":
                # AutoGen's JSON mode can publish dataclasses only.
                await ag.publish_message(Note("from autogen"), AgTopicId("notes", "s"), sender=AgAgentId("agecho", "s"))
                expected.append(("alpha/s", ("note", "from autogen", "agecho/s", False)))
            else:
                # AutoGen's protobuf mode can publish protobuf messages only (proto_data = Any).
                await ag.publish_message(ProtoNote(type="ag-proto"), AgTopicId("notes", "s"))
                expected.append(("alpha/s", ("proto", "ag-proto", None, False)))  # unknown/unknown → None
                expected.append(("autogen:agecho/s", ("proto", "ag-proto", "unknown/unknown")))
            await ours.publish_message(Note("from ours"), TopicId("notes", "s"), sender=AgentId("alpha", "s"))
            await ours.publish_message(ProtoNote(type="our-proto"), TopicId("notes", "s"))
            items = await recorder.wait_for(len(expected))
            await asyncio.sleep(0.2)  # a duplicate or a self-delivery would show up by now
    finally:
        await ag.stop()
    assert sorted(map(repr, recorder.items)) == sorted(map(repr, expected))
    assert len(items) == len(expected)


async def test_rpc_autogen_to_ours_and_back(address: str) -> None:
    ours = GrpcWorkerRuntime(address, rpc_timeout=5)
    await EchoAgent.register(ours, "alpha")
    ours.add_message_types(Ask, Answer, Fail)
    ag = await autogen_worker(address)
    try:
        async with ours:
            # AutoGen → ours: JSON request, JSON reply AutoGen decodes.
            reply = await asyncio.wait_for(ag.send_message(Ask("q"), AgAgentId("alpha", "k"), sender=AgAgentId("agecho", "k")), 5)
            assert reply == Answer(text="alpha/k:q:agecho/k")
            # (AutoGen 0.7.5 cannot send a protobuf message over RPC at all: it encodes RPCs as JSON only.)
            # Our handler raising: AutoGen raises with our text.
            with pytest.raises(Exception, match="^why$"):
                await asyncio.wait_for(ag.send_message(Fail("why"), AgAgentId("alpha", "k")), 5)
            # Our handler returning None: a proper empty reply (AutoGen surfaces it as an empty UnknownPayload).
            empty = await asyncio.wait_for(ag.send_message(Nothing(), AgAgentId("alpha", "k")), 5)
            assert isinstance(empty, UnknownPayload) and empty.payload == b""
            # Ours → AutoGen: JSON request, JSON reply; AutoGen's handler error becomes our RpcError.
            answer = await ours.send_message(Ask("q2"), AgentId("agecho", "k"), sender=AgentId("alpha", "k"))
            assert answer == Answer(text="autogen agecho/k:q2")
            with pytest.raises(RpcError, match="^nope$"):
                await ours.send_message(Fail("nope"), AgentId("agecho", "k"))
    finally:
        await ag.stop()
