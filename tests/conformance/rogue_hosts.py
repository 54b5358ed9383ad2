"""Deliberately wrong AgentRpc hosts for the engine's own tests (real grpc.aio servers, not mocks).

- ``YesHost``: says OK to every unary call (no client-id check, no duplicate check) and broadcasts every
  data/control message to every open stream, the sender included. Negative cases must FAIL against it.
- ``DeafHost``: accepts everything and never answers: unary calls and streams hang. Step caps must end them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from conformance.targets.base import Endpoint
from pyruntime._proto import agent_worker_pb2, agent_worker_pb2_grpc


class YesHost(agent_worker_pb2_grpc.AgentRpcServicer):
    """Accepts everything and echoes every message to every stream."""

    def __init__(self) -> None:
        self.channels: list[asyncio.Queue] = []
        self.controls: list[asyncio.Queue] = []

    async def _pump(self, request_iterator, streams: list[asyncio.Queue]) -> AsyncIterator:
        queue: asyncio.Queue = asyncio.Queue()
        streams.append(queue)

        async def read() -> None:
            async for message in request_iterator:
                for other in list(streams):
                    other.put_nowait(message)

        reader = asyncio.create_task(read())
        try:
            while True:
                yield await queue.get()
        finally:
            streams.remove(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def OpenChannel(self, request_iterator, context):  # noqa: N802 (gRPC names)
        async for message in self._pump(request_iterator, self.channels):
            yield message

    async def OpenControlChannel(self, request_iterator, context):  # noqa: N802
        async for message in self._pump(request_iterator, self.controls):
            yield message

    async def RegisterAgent(self, request, context):  # noqa: N802
        return agent_worker_pb2.RegisterAgentTypeResponse()

    async def AddSubscription(self, request, context):  # noqa: N802
        return agent_worker_pb2.AddSubscriptionResponse()

    async def RemoveSubscription(self, request, context):  # noqa: N802
        return agent_worker_pb2.RemoveSubscriptionResponse()

    async def GetSubscriptions(self, request, context):  # noqa: N802
        return agent_worker_pb2.GetSubscriptionsResponse()


class DeafHost(agent_worker_pb2_grpc.AgentRpcServicer):
    """Never answers anything (until the server stops)."""

    def __init__(self) -> None:
        self.forever = asyncio.Event()

    async def _hang(self, *args):
        await self.forever.wait()
        return None

    async def OpenChannel(self, request_iterator, context):  # noqa: N802
        await self.forever.wait()

    async def OpenControlChannel(self, request_iterator, context):  # noqa: N802
        await self.forever.wait()

    async def RegisterAgent(self, request, context):  # noqa: N802
        await self.forever.wait()
        return agent_worker_pb2.RegisterAgentTypeResponse()

    async def AddSubscription(self, request, context):  # noqa: N802
        await self.forever.wait()
        return agent_worker_pb2.AddSubscriptionResponse()

    async def RemoveSubscription(self, request, context):  # noqa: N802
        await self.forever.wait()
        return agent_worker_pb2.RemoveSubscriptionResponse()

    async def GetSubscriptions(self, request, context):  # noqa: N802
        await self.forever.wait()
        return agent_worker_pb2.GetSubscriptionsResponse()


@contextlib.asynccontextmanager
async def serving(
    servicer: agent_worker_pb2_grpc.AgentRpcServicer, interceptors: tuple = (), bearer_token: str | None = None
) -> AsyncIterator[Endpoint]:
    """Serve ``servicer`` on a free loopback port for the duration of the block."""
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)], interceptors=list(interceptors) or None
    )
    agent_worker_pb2_grpc.add_AgentRpcServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield Endpoint(address=f"127.0.0.1:{port}", bearer_token=bearer_token)
    finally:
        if isinstance(servicer, DeafHost):
            servicer.forever.set()
        await server.stop(grace=None)
