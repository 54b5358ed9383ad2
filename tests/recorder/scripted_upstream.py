"""A small real AgentRpc server whose behaviour the proxy tests steer (echo, fail, end, sleep)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc as pb_grpc

HALF_CLOSED_LINGER = 5.0


@dataclass
class Observed:
    """What the upstream saw, for the tests to assert on."""

    metadata: list[dict[str, str | bytes]] = field(default_factory=list)
    time_remaining: list[float | None] = field(default_factory=list)
    stream_cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    call_cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class ScriptedUpstream(pb_grpc.AgentRpcServicer):
    """OpenChannel echoes every Message; a CloudEvent whose type is "fail" aborts the stream with
    FAILED_PRECONDITION, "end" ends it OK with a trailer. RegisterAgent("bad") is INVALID_ARGUMENT;
    AddSubscription with id "slow" sleeps 5 s (for deadlines)."""

    def __init__(self) -> None:
        self.observed = Observed()

    def _note(self, context: grpc.aio.ServicerContext) -> None:
        self.observed.metadata.append({k: v for k, v in context.invocation_metadata() or ()})

    async def OpenChannel(self, request_iterator: AsyncIterator[pb.Message], context: grpc.aio.ServicerContext) -> AsyncIterator[pb.Message]:  # noqa: N802
        self._note(context)
        await context.send_initial_metadata((("x-stream", "open"),))
        async for message in request_iterator:
            kind = message.cloudEvent.type if message.HasField("cloudEvent") else ""
            if kind == "fail":
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "told to fail")
            if kind == "end":
                context.set_trailing_metadata((("x-trailer", "bye"),))
                return
            yield message
        # grpc.aio ends the request iterator both on a half-close and (first) on a cancel. Stay open
        # a while: only a real cancellation interrupts this wait.
        try:
            await asyncio.sleep(HALF_CLOSED_LINGER)
        except asyncio.CancelledError:
            self.observed.stream_cancelled.set()
            raise

    async def OpenControlChannel(self, request_iterator: AsyncIterator[pb.ControlMessage], context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ControlMessage]:  # noqa: N802
        self._note(context)
        async for message in request_iterator:
            yield message

    async def RegisterAgent(self, request: pb.RegisterAgentTypeRequest, context: grpc.aio.ServicerContext) -> pb.RegisterAgentTypeResponse:  # noqa: N802
        self._note(context)
        if request.type == "bad":
            context.set_trailing_metadata((("x-reason", "bad-type"),))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad type ✗")
        await context.send_initial_metadata((("x-header", "h"),))
        context.set_trailing_metadata((("x-answer", "42"),))
        return pb.RegisterAgentTypeResponse()

    async def AddSubscription(self, request: pb.AddSubscriptionRequest, context: grpc.aio.ServicerContext) -> pb.AddSubscriptionResponse:  # noqa: N802
        self._note(context)
        self.observed.time_remaining.append(context.time_remaining())
        if request.subscription.id == "slow":
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                self.observed.call_cancelled.set()
                raise
        return pb.AddSubscriptionResponse()

    async def RemoveSubscription(self, request: pb.RemoveSubscriptionRequest, context: grpc.aio.ServicerContext) -> pb.RemoveSubscriptionResponse:  # noqa: N802
        self._note(context)
        await context.abort(grpc.StatusCode.UNKNOWN, "Unexpected <class 'ValueError'>: Subscription does not exist")

    async def GetSubscriptions(self, request: pb.GetSubscriptionsRequest, context: grpc.aio.ServicerContext) -> pb.GetSubscriptionsResponse:  # noqa: N802
        self._note(context)
        return pb.GetSubscriptionsResponse(subscriptions=[pb.Subscription(id="s1", typeSubscription=pb.TypeSubscription(topic_type="t", agent_type="a"))])


@contextlib.asynccontextmanager
async def scripted_upstream() -> AsyncIterator[tuple[str, ScriptedUpstream]]:
    """A started ScriptedUpstream on 127.0.0.1:<free port>; yields (address, servicer)."""
    server = grpc.aio.server()
    servicer = ScriptedUpstream()
    pb_grpc.add_AgentRpcServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        await server.stop(grace=None)
