"""The practical limit: a minimal grpc.aio AgentRpc.OpenChannel forwarder and raw stream clients.

The router accepts exactly two channels (client-id ``A`` and ``B``) and forwards every parsed
``agents.Message`` from one to the other in the reading coroutine ("direct" style of perf-baseline).
Clients build the same CloudEvent / RpcRequest / RpcResponse frames a real worker sends and
decode payloads, but have no agent machinery: B delivers an event to its K subscribers inline.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import asdict
from types import TracebackType
from typing import Any, Callable, Optional

import grpc
from google.protobuf import any_pb2

from benchmarks.payloads import PROTO_TYPE_NAME, BenchMsg, ProtoMsg
from benchmarks.recorder import ECHO_TYPE, SUBSCRIBER_TYPES, TOPICS, DeliveryRecorder
from benchmarks.stacks import GRPC_SIZE_OPTIONS
from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc as pb_grpc
from pyruntime._proto import cloudevent_pb2 as ce_pb

JSON_CT = "application/json"
PROTO_CT = "application/x-protobuf"
PEER_WAIT = 30.0
QUEUE_SIZE = 1024  # bounded: a slow reader pushes back on the sender instead of growing memory
_ROLES = ("A", "B")


class RawRouter(pb_grpc.AgentRpcServicer):
    """``async with RawRouter() as router: router.address``: forwards A↔B, nothing else.

    "Queue" style (perf-baseline's best for one-way and in-flight traffic): each stream has a
    reader that parses a Message and puts it in the peer's bounded queue, and a writer task
    that drains its own queue into its stream, so reads and writes overlap.
    """

    def __init__(self) -> None:
        self._outboxes: dict[str, asyncio.Queue[pb.Message]] = {}
        self._arrived = {role: asyncio.Event() for role in _ROLES}
        self._server: Optional[grpc.aio.Server] = None
        self.address = ""

    @staticmethod
    async def _write_loop(context: grpc.aio.ServicerContext, outbox: "asyncio.Queue[pb.Message]") -> None:
        while True:
            await context.write(await outbox.get())

    async def OpenChannel(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> None:  # noqa: N802
        client = dict(context.invocation_metadata()).get("client-id", "")
        if client not in _ROLES:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "raw router: client-id must be A or B")
        outbox: asyncio.Queue[pb.Message] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._outboxes[client] = outbox
        self._arrived[client].set()
        await context.send_initial_metadata(())  # lets the client's wait_for_connection() return
        peer = "B" if client == "A" else "A"
        try:
            await asyncio.wait_for(self._arrived[peer].wait(), PEER_WAIT)
        except asyncio.TimeoutError:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"raw router: peer {peer} never connected")
        peer_outbox = self._outboxes[peer]
        writer = asyncio.create_task(self._write_loop(context, outbox))
        try:
            while True:
                message = await context.read()
                if message is grpc.aio.EOF:
                    return
                await peer_outbox.put(message)
        finally:
            writer.cancel()
            try:
                await writer
            except (asyncio.CancelledError, Exception):  # the stream is over either way
                pass

    async def __aenter__(self) -> "RawRouter":
        server = grpc.aio.server(options=GRPC_SIZE_OPTIONS)
        pb_grpc.add_AgentRpcServicer_to_server(self, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server, self.address = server, f"127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self._server.stop(0.5)


def _encode(message: Any) -> pb.Payload:
    if isinstance(message, BenchMsg):
        return pb.Payload(data_type="BenchMsg", data_content_type=JSON_CT, data=json.dumps(asdict(message)).encode())
    packed = any_pb2.Any()
    packed.Pack(message)
    return pb.Payload(data_type=PROTO_TYPE_NAME, data_content_type=PROTO_CT, data=packed.SerializeToString())


def _decode(payload: pb.Payload) -> Any:
    if payload.data_content_type == JSON_CT:
        return BenchMsg(**json.loads(payload.data))
    packed = any_pb2.Any.FromString(payload.data)
    message = ProtoMsg()
    if not packed.Unpack(message):
        raise ValueError(f"raw client: unexpected protobuf type {packed.type_url}")
    return message


def _event(message: Any, topic_type: str, event_id: str) -> pb.Message:
    def attr(value: str) -> ce_pb.CloudEvent.CloudEventAttributeValue:
        return ce_pb.CloudEvent.CloudEventAttributeValue(ce_string=value)

    is_json = isinstance(message, BenchMsg)
    attributes = {
        "datacontenttype": attr(JSON_CT if is_json else PROTO_CT),
        "dataschema": attr("BenchMsg" if is_json else PROTO_TYPE_NAME),
        "agagentsendertype": attr("unknown"),
        "agagentsenderkey": attr("unknown"),
        "agmsgkind": attr("publish"),
    }
    event = ce_pb.CloudEvent(id=event_id, spec_version="1.0", type=topic_type, source="default", attributes=attributes)
    if is_json:
        event.binary_data = json.dumps(asdict(message)).encode()
    else:
        event.proto_data.Pack(message)
    return pb.Message(cloudEvent=event)


def _event_payload(event: ce_pb.CloudEvent) -> Any:
    if event.WhichOneof("data") == "proto_data":
        message = ProtoMsg()
        if not event.proto_data.Unpack(message):
            raise ValueError(f"raw client: unexpected protobuf type {event.proto_data.type_url}")
        return message
    return BenchMsg(**json.loads(event.binary_data))


class RawEndpoint:
    """A raw grpc.aio OpenChannel client; role B delivers events to K subscribers and echoes RPCs."""

    def __init__(self, register: bool = False) -> None:
        # register: announce agent types and subscriptions (needed behind a real host, not the raw router)
        self._register = register
        self._channel: Optional[grpc.aio.Channel] = None
        self._call: Any = None
        self._reader: Optional[asyncio.Task[None]] = None
        self._writer: Optional[asyncio.Task[None]] = None
        self._outbox: asyncio.Queue[pb.Message] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._recorder: Optional[DeliveryRecorder] = None
        self._deliver: Callable[[str, Any], None] = lambda subscriber, message: None

    async def start(self, address: str, role: str, recorder: Optional[DeliveryRecorder]) -> None:
        if recorder is not None:
            self._deliver = recorder.record
        self._channel = grpc.aio.insecure_channel(address, options=GRPC_SIZE_OPTIONS)
        stub = pb_grpc.AgentRpcStub(self._channel)
        self._call = stub.OpenChannel(metadata=(("client-id", role),))
        if not self._register:
            await self._call.wait_for_connection()
        self._reader = asyncio.create_task(self._read_loop(), name=f"raw-reader-{role}")
        self._writer = asyncio.create_task(self._write_loop(), name=f"raw-writer-{role}")
        if self._register and role == "B":
            await self._announce(stub, role)

    async def _announce(self, stub: Any, role: str) -> None:
        """RegisterAgent + AddSubscription for B's agent types, as any worker does at a real host."""
        metadata = (("client-id", role),)
        for agent_type in (*SUBSCRIBER_TYPES, ECHO_TYPE):
            await stub.RegisterAgent(pb.RegisterAgentTypeRequest(type=agent_type), metadata=metadata, timeout=10)
        for topic, subscribers in TOPICS.items():
            for subscriber in subscribers:
                subscription = pb.Subscription(id=f"{topic}->{subscriber}", typeSubscription=pb.TypeSubscription(
                    topic_type=topic, agent_type=subscriber))
                await stub.AddSubscription(pb.AddSubscriptionRequest(subscription=subscription), metadata=metadata,
                                           timeout=10)

    async def _write(self, message: pb.Message) -> None:
        await self._outbox.put(message)

    async def _write_loop(self) -> None:
        # One writer: grpc.aio allows one write in flight per call; callers only queue.
        while True:
            await self._call.write(await self._outbox.get())

    async def _read_loop(self) -> None:
        while True:
            message = await self._call.read()
            if message is grpc.aio.EOF:
                break
            kind = message.WhichOneof("message")
            if kind == "cloudEvent":
                event = message.cloudEvent
                decoded = _event_payload(event)
                for subscriber in TOPICS.get(event.type, ()):
                    self._deliver(subscriber, decoded)
            elif kind == "request":
                request = message.request
                if request.target.type != ECHO_TYPE:
                    raise ValueError(f"raw client: no agent type {request.target.type!r}")
                reply = _decode(request.payload)  # the echo agent returns what it got
                await self._write(pb.Message(response=pb.RpcResponse(request_id=request.request_id,
                                                                      payload=_encode(reply))))
            elif kind == "response":
                future = self._pending.pop(message.response.request_id, None)
                if future is not None and not future.done():
                    if message.response.error:
                        future.set_exception(RuntimeError(message.response.error))
                    else:
                        future.set_result(_decode(message.response.payload))

    async def publish(self, message: Any, topic_type: str) -> None:
        await self._write(_event(message, topic_type, str(next(self._ids))))

    async def call(self, message: Any) -> Any:
        request_id = str(next(self._ids))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._write(pb.Message(request=pb.RpcRequest(
                request_id=request_id, target=pb.AgentId(type=ECHO_TYPE, key="default"),
                method="", payload=_encode(message))))
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def stop(self) -> None:
        for task in (self._writer,):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):  # stopping: the stream may be broken already
                    pass
        if self._call is not None:
            try:
                await asyncio.wait_for(self._call.done_writing(), 2)
            except Exception:  # the router may be gone already; closing the channel is what matters
                pass
        if self._channel is not None:
            await self._channel.close(grace=None)
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, grpc.aio.AioRpcError):
                pass
