"""A raw AgentRpc client for reliability and security tests: generated stubs, no worker runtime.

One ``RawWorker`` is one client-id: unary calls (register, subscribe, ...) and at most one
open data stream, written with ``call.write`` (which waits on HTTP/2 flow control, so a
publisher feels the host's backpressure) and read by one owned task into an inbox.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Sequence

import grpc

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc as pb_grpc
from pyruntime.wire import JSON, EncodedPayload, build_cloud_event

Metadata = Sequence[tuple[str, str]]
ATTACH_PROBE_ID = "raw-worker-attach-probe"
ATTACH_PROBE_TYPE = "raw-worker-attach-probe-nobody-has-this-type"


def event_message(topic_type: str, topic_source: str, body: dict[str, Any], event_id: str | None = None) -> pb.Message:
    """A publish frame with a small JSON body (type name ``SoakEvent``)."""
    payload = EncodedPayload(type_name="SoakEvent", content_type=JSON, data=json.dumps(body).encode())
    event = build_cloud_event(topic_type=topic_type, topic_source=topic_source, payload=payload, message_id=event_id)
    return pb.Message(cloudEvent=event)


def request_message(request_id: str, target_type: str, target_key: str = "default", body: bytes = b"{}") -> pb.Message:
    return pb.Message(
        request=pb.RpcRequest(
            request_id=request_id,
            target=pb.AgentId(type=target_type, key=target_key),
            method="call",
            payload=pb.Payload(data_type="Ping", data_content_type=JSON, data=body),
        )
    )


def response_message(request_id: str, body: bytes = b"{}") -> pb.Message:
    return pb.Message(
        response=pb.RpcResponse(
            request_id=request_id, payload=pb.Payload(data_type="Pong", data_content_type=JSON, data=body)
        )
    )


class RawWorker:
    """A client-id with unary helpers and one data stream whose frames land in ``inbox``."""

    def __init__(self, channel: grpc.aio.Channel, client_id: str | None = None, extra_metadata: Metadata = ()) -> None:
        self.channel = channel
        self.client_id = client_id or f"raw-{uuid.uuid4().hex[:12]}"
        self.metadata: tuple[tuple[str, str], ...] = (("client-id", self.client_id), *extra_metadata)
        self.stub = pb_grpc.AgentRpcStub(channel)
        self.inbox: asyncio.Queue[pb.Message] = asyncio.Queue()
        self.call: Any = None
        self._reader: asyncio.Task[None] | None = None
        self.stream_error: grpc.aio.AioRpcError | None = None
        self.stream_ended = asyncio.Event()

    # ----- unary ----------------------------------------------------------------------
    async def register(self, agent_type: str, timeout: float = 5.0) -> None:
        await self.stub.RegisterAgent(pb.RegisterAgentTypeRequest(type=agent_type), metadata=self.metadata, timeout=timeout)

    async def subscribe(self, topic_type: str, agent_type: str, sub_id: str | None = None, timeout: float = 5.0) -> str:
        sub_id = sub_id or f"sub-{uuid.uuid4().hex[:12]}"
        subscription = pb.Subscription(
            id=sub_id, typeSubscription=pb.TypeSubscription(topic_type=topic_type, agent_type=agent_type)
        )
        await self.stub.AddSubscription(
            pb.AddSubscriptionRequest(subscription=subscription), metadata=self.metadata, timeout=timeout
        )
        return sub_id

    async def unsubscribe(self, sub_id: str, timeout: float = 5.0) -> None:
        await self.stub.RemoveSubscription(pb.RemoveSubscriptionRequest(id=sub_id), metadata=self.metadata, timeout=timeout)

    async def subscription_ids(self, timeout: float = 5.0) -> list[str]:
        reply = await self.stub.GetSubscriptions(pb.GetSubscriptionsRequest(), metadata=self.metadata, timeout=timeout)
        return [s.id for s in reply.subscriptions]

    # ----- data stream ----------------------------------------------------------------
    async def open(self, *, read: bool = True, confirm: bool = True, probe_type: str = "") -> None:
        """Open the data stream; with ``read=False`` nobody reads it (a stalled subscriber).

        ``confirm`` waits until the host has attached the stream: it sends an RPC to an agent
        type nobody has and waits for the host's error reply, which can only come once the
        host reads this stream. (Without it, an event published right away from *another*
        connection could reach the host first and find this client without a stream.)
        ``probe_type`` names that unowned type when the default one is not allowed.
        """
        self.call = self.stub.OpenChannel(metadata=self.metadata)
        if confirm:
            await self._confirm_attached(probe_type or ATTACH_PROBE_TYPE)
        if read:
            self.start_reading()

    async def _confirm_attached(self, probe_type: str, timeout: float = 10.0) -> None:
        try:
            await self.call.write(request_message(ATTACH_PROBE_ID, probe_type))
            async with asyncio.timeout(timeout):
                while True:
                    message = await self.call.read()
                    if message is grpc.aio.EOF:
                        self.stream_ended.set()
                        return
                    if message.HasField("response") and message.response.request_id == ATTACH_PROBE_ID:
                        return
                    self.inbox.put_nowait(message)
        except grpc.aio.AioRpcError as error:
            self.stream_error = error
            self.stream_ended.set()

    def start_reading(self) -> None:
        if self._reader is None and not self.stream_ended.is_set():
            self._reader = asyncio.create_task(self._read(), name=f"raw-read-{self.client_id}")

    async def _read(self) -> None:
        try:
            while True:
                message = await self.call.read()
                if message is grpc.aio.EOF:
                    return
                self.inbox.put_nowait(message)
        except grpc.aio.AioRpcError as error:
            self.stream_error = error
        except asyncio.CancelledError:
            pass
        finally:
            self.stream_ended.set()

    async def send(self, message: pb.Message) -> None:
        await self.call.write(message)

    async def next(self, timeout: float = 5.0) -> pb.Message:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def next_response(self, timeout: float = 5.0) -> pb.RpcResponse:
        """The next RpcResponse on the stream (events in between are skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.next(max(0.01, deadline - loop.time()))
            if message.HasField("response"):
                return message.response

    async def close(self) -> None:
        """Cancel the stream and await the reader (idempotent)."""
        if self.call is not None:
            self.call.cancel()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None


async def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.01) -> None:
    """Poll ``predicate()`` until true; TimeoutError after ``timeout`` seconds (a bounded wait)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            raise TimeoutError("condition not reached within %.1fs" % timeout)
        await asyncio.sleep(interval)
