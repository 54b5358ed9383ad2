"""A raw AgentRpc client for tests: generated messages on unary calls, raw bytes on streams.

The streams use no (de)serializers so tests can send bytes the generated code would never
produce (garbage, unknown fields) and compare what arrives byte for byte.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import grpc

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import cloudevent_pb2 as ce

WAIT = 5.0  # every read in these tests ends within this many seconds
BARRIER_TYPE = "__no_such_agent_type__"
_barrier_ids = itertools.count(1)


def event(topic_type: str, source: str = "src", data: bytes = b"{}", event_id: str = "e1") -> pb.Message:
    """A CloudEvent frame like the Python worker's JSON publish."""
    attrs = {
        "datacontenttype": ce.CloudEvent.CloudEventAttributeValue(ce_string="application/json"),
        "dataschema": ce.CloudEvent.CloudEventAttributeValue(ce_string="DC"),
    }
    return pb.Message(
        cloudEvent=ce.CloudEvent(
            id=event_id, source=source, spec_version="1.0", type=topic_type, attributes=attrs, binary_data=data
        )
    )


def request(request_id: str, agent_type: str, key: str = "k", data: bytes = b"{}") -> pb.Message:
    return pb.Message(
        request=pb.RpcRequest(
            request_id=request_id,
            target=pb.AgentId(type=agent_type, key=key),
            payload=pb.Payload(data_type="DC", data_content_type="application/json", data=data),
        )
    )


def response(request_id: str, data: bytes = b"{}", error: str = "") -> pb.Message:
    payload = None if error else pb.Payload(data_type="DC", data_content_type="application/json", data=data)
    return pb.Message(response=pb.RpcResponse(request_id=request_id, payload=payload, error=error))


class RawStream:
    """One OpenChannel or OpenControlChannel call, read and written as bytes."""

    def __init__(self, call: Any, parse: Any) -> None:
        self.call = call
        self._parse = parse

    async def send(self, message: Any) -> None:
        await self.call.write(message.SerializeToString())

    async def send_bytes(self, frame: bytes) -> None:
        await self.call.write(frame)

    async def recv_bytes(self, timeout: float = WAIT) -> bytes:
        frame = await asyncio.wait_for(self.call.read(), timeout)
        if frame is grpc.aio.EOF:
            raise EOFError("stream ended")
        return frame

    async def recv(self, timeout: float = WAIT) -> Any:
        return self._parse(await self.recv_bytes(timeout))

    async def sync(self) -> list[Any]:
        """Every frame the host queued for this stream before now (data streams only).

        Sends an RPC to a type nobody registers; the host answers it at once, after any frame
        it already queued here, so the frames before that answer are exactly what was pending.
        """
        barrier_id = f"barrier-{next(_barrier_ids)}"
        await self.send(request(barrier_id, BARRIER_TYPE))
        before: list[Any] = []
        while True:
            message = await self.recv()
            if message.WhichOneof("message") == "response" and message.response.request_id == barrier_id:
                return before
            before.append(message)

    async def end(self) -> None:
        await self.call.done_writing()

    async def status(self, timeout: float = WAIT) -> tuple[grpc.StatusCode, str]:
        code = await asyncio.wait_for(self.call.code(), timeout)
        return code, await self.call.details()

    def cancel(self) -> None:
        self.call.cancel()


class RawPeer:
    """One client id talking to a host over its own channel."""

    def __init__(
        self,
        address: str,
        client_id: str | None,
        credentials: grpc.ChannelCredentials | None = None,
        options: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.client_id = client_id
        opts = [("grpc.max_send_message_length", 64 * 1024 * 1024), ("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        opts += options or []
        if credentials is None:
            self.channel = grpc.aio.insecure_channel(address, options=opts)
        else:
            self.channel = grpc.aio.secure_channel(address, credentials, options=opts)
        self.metadata = [("client-id", client_id)] if client_id is not None else []

        def unary(name: str, req: Any, resp: Any) -> Any:
            return self.channel.unary_unary(
                f"/agents.AgentRpc/{name}", request_serializer=req.SerializeToString, response_deserializer=resp.FromString
            )

        self._register = unary("RegisterAgent", pb.RegisterAgentTypeRequest, pb.RegisterAgentTypeResponse)
        self._add = unary("AddSubscription", pb.AddSubscriptionRequest, pb.AddSubscriptionResponse)
        self._remove = unary("RemoveSubscription", pb.RemoveSubscriptionRequest, pb.RemoveSubscriptionResponse)
        self._get = unary("GetSubscriptions", pb.GetSubscriptionsRequest, pb.GetSubscriptionsResponse)
        self._open = self.channel.stream_stream("/agents.AgentRpc/OpenChannel")
        self._open_control = self.channel.stream_stream("/agents.AgentRpc/OpenControlChannel")

    def open(self) -> RawStream:
        return RawStream(self._open(metadata=self.metadata), pb.Message.FromString)

    def open_control(self) -> RawStream:
        return RawStream(self._open_control(metadata=self.metadata), pb.ControlMessage.FromString)

    async def register(self, agent_type: str) -> None:
        await self._register(pb.RegisterAgentTypeRequest(type=agent_type), metadata=self.metadata, timeout=WAIT)

    async def add(self, subscription: pb.Subscription) -> None:
        await self._add(pb.AddSubscriptionRequest(subscription=subscription), metadata=self.metadata, timeout=WAIT)

    async def subscribe(self, topic_type: str, agent_type: str, sub_id: str) -> None:
        await self.add(pb.Subscription(id=sub_id, typeSubscription=pb.TypeSubscription(topic_type=topic_type, agent_type=agent_type)))

    async def subscribe_prefix(self, prefix: str, agent_type: str, sub_id: str) -> None:
        await self.add(
            pb.Subscription(id=sub_id, typePrefixSubscription=pb.TypePrefixSubscription(topic_type_prefix=prefix, agent_type=agent_type))
        )

    async def remove(self, sub_id: str) -> None:
        await self._remove(pb.RemoveSubscriptionRequest(id=sub_id), metadata=self.metadata, timeout=WAIT)

    async def subscriptions(self) -> list[pb.Subscription]:
        reply = await self._get(pb.GetSubscriptionsRequest(), metadata=self.metadata, timeout=WAIT)
        return list(reply.subscriptions)

    async def serve(self, agent_type: str, topic_type: str | None = None) -> RawStream:
        """Open a data stream, register ``agent_type`` and optionally subscribe it to ``topic_type``."""
        stream = self.open()
        await self.register(agent_type)
        if topic_type is not None:
            await self.subscribe(topic_type, agent_type, f"{self.client_id}-{agent_type}-{topic_type}")
        await stream.sync()  # the host has attached the stream
        return stream

    async def close(self) -> None:
        await self.channel.close()
