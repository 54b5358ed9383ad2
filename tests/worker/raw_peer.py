"""A raw AgentRpc client on the generated stubs: sees exactly what a worker puts on the wire
and can forge what other peers (AutoGen, .NET) send."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc


class RawPeer:
    def __init__(self, address: str) -> None:
        self.client_id = str(uuid.uuid4())
        self.metadata = (("client-id", self.client_id),)
        self._channel = grpc.aio.insecure_channel(address)
        self.stub = agent_worker_pb2_grpc.AgentRpcStub(self._channel)
        self._call: Any = None
        self.inbox: asyncio.Queue[pb.Message] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "RawPeer":
        self._call = self.stub.OpenChannel(metadata=self.metadata)
        await self._call.wait_for_connection()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._call.cancel()
        await self._channel.close()

    async def _read(self) -> None:
        async for message in self._call:
            await self.inbox.put(message)

    async def register(self, agent_type: str, *topic_types: str) -> None:
        await self.stub.RegisterAgent(pb.RegisterAgentTypeRequest(type=agent_type), metadata=self.metadata, timeout=5)
        for topic_type in topic_types:
            sub = pb.Subscription(
                id=str(uuid.uuid4()), typeSubscription=pb.TypeSubscription(topic_type=topic_type, agent_type=agent_type)
            )
            await self.stub.AddSubscription(pb.AddSubscriptionRequest(subscription=sub), metadata=self.metadata, timeout=5)

    async def send(self, message: pb.Message) -> None:
        await self._call.write(message)

    async def next(self, kind: str, timeout: float = 5.0) -> Any:
        """The next inbound frame of ``kind`` ("request", "response", "cloudEvent"); others are skipped."""

        async def find() -> Any:
            while True:
                message = await self.inbox.get()
                if message.WhichOneof("message") == kind:
                    return getattr(message, kind)

        return await asyncio.wait_for(find(), timeout)

    async def call(self, request: pb.RpcRequest, timeout: float = 5.0) -> pb.RpcResponse:
        await self.send(pb.Message(request=request))

        async def find() -> pb.RpcResponse:
            while True:
                response = await self.next("response", timeout)
                if response.request_id == request.request_id:
                    return response

        return await asyncio.wait_for(find(), timeout)
