"""Virtual peers: one grpc.aio channel each, with OpenChannel / OpenControlChannel streams and unary calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import grpc
from google.protobuf.message import Message as ProtoMessage

from conformance.engine.errors import StepFailure
from conformance.engine.trace import Trace
from conformance.targets.base import Endpoint
from conformance.targets.channel import open_channel
from pyruntime._proto import agent_worker_pb2, agent_worker_pb2_grpc

STREAM_TYPES: dict[str, type[ProtoMessage]] = {
    "channel": agent_worker_pb2.Message,
    "control": agent_worker_pb2.ControlMessage,
}

REQUEST_TYPES: dict[str, type[ProtoMessage]] = {
    "RegisterAgent": agent_worker_pb2.RegisterAgentTypeRequest,
    "AddSubscription": agent_worker_pb2.AddSubscriptionRequest,
    "RemoveSubscription": agent_worker_pb2.RemoveSubscriptionRequest,
    "GetSubscriptions": agent_worker_pb2.GetSubscriptionsRequest,
}


@dataclass(frozen=True)
class StreamEnd:
    """How a stream ended, as seen by the client."""

    code: grpc.StatusCode
    details: str


@dataclass
class OpenStream:
    """One bidi stream: a reader task fills ``inbox``; ``end`` is set when the server finishes it."""

    call: grpc.aio.StreamStreamCall
    inbox: asyncio.Queue[ProtoMessage]
    reader: asyncio.Task[None]
    end: asyncio.Future[StreamEnd]
    closed_by_us: bool = False


def message_kind(message: ProtoMessage) -> str:
    """A short label: the Message oneof name, 'ControlMessage', or the type name."""
    if isinstance(message, agent_worker_pb2.Message):
        return message.WhichOneof("message") or "<empty Message>"
    if isinstance(message, agent_worker_pb2.ControlMessage):
        return "ControlMessage"
    return type(message).__name__


@dataclass
class Peer:
    """A named virtual peer of a scenario."""

    name: str
    client_id: str | None
    channel: grpc.aio.Channel
    trace: Trace
    streams: dict[str, OpenStream] = field(default_factory=dict)
    auth: tuple[tuple[str, str], ...] = ()  # e.g. authorization: Bearer ...

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        identity = () if self.client_id is None else (("client-id", self.client_id),)
        return identity + self.auth

    @property
    def stub(self) -> agent_worker_pb2_grpc.AgentRpcStub:
        return agent_worker_pb2_grpc.AgentRpcStub(self.channel)

    async def open(self, stream: str) -> None:
        if stream in self.streams and not self.streams[stream].end.done():
            raise StepFailure(f"peer {self.name} already has an open {stream} stream")
        method = self.stub.OpenChannel if stream == "channel" else self.stub.OpenControlChannel
        call = method(metadata=self.metadata)
        loop = asyncio.get_running_loop()
        end: asyncio.Future[StreamEnd] = loop.create_future()
        inbox: asyncio.Queue[ProtoMessage] = asyncio.Queue()
        reader = asyncio.create_task(self._read(stream, call, inbox, end), name=f"read-{self.name}-{stream}")
        self.streams[stream] = OpenStream(call, inbox, reader, end)
        self.trace.add("->", self.name, stream, "open")

    async def _read(
        self, stream: str, call: grpc.aio.StreamStreamCall, inbox: asyncio.Queue, end: asyncio.Future
    ) -> None:
        code, details = grpc.StatusCode.OK, ""
        try:
            while True:
                message = await call.read()
                if message is grpc.aio.EOF:
                    break
                self.trace.add("<-", self.name, stream, message_kind(message), message)
                inbox.put_nowait(message)
        except grpc.aio.AioRpcError as error:
            code, details = error.code(), error.details() or ""
        except asyncio.CancelledError:
            code, details = grpc.StatusCode.CANCELLED, "reader cancelled"
        if code == grpc.StatusCode.OK:
            code = await call.code()
            details = await call.details() or ""
        self.trace.add("<-", self.name, stream, f"end {code.name}")
        if not end.done():
            end.set_result(StreamEnd(code, details))

    def stream(self, stream: str) -> OpenStream:
        found = self.streams.get(stream)
        if found is None:
            raise StepFailure(f"peer {self.name} has no {stream} stream: add an `open` step first")
        return found

    async def send(self, stream: str, message: ProtoMessage) -> None:
        handle = self.stream(stream)
        self.trace.add("->", self.name, stream, message_kind(message), message)
        if handle.end.done():
            ended = handle.end.result()
            raise StepFailure(f"peer {self.name}'s {stream} stream already ended ({ended.code.name} {ended.details!r})")
        try:
            await handle.call.write(message)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError) as error:
            raise StepFailure(f"writing on peer {self.name}'s {stream} stream failed: {error!r}") from None

    async def close(self, stream: str) -> None:
        handle = self.stream(stream)
        handle.closed_by_us = True
        handle.call.cancel()
        self.trace.add("->", self.name, stream, "close (cancel)")
        await asyncio.wait({handle.reader}, timeout=1.0)

    async def call(self, method: str, request: ProtoMessage, timeout: float) -> tuple[grpc.StatusCode, str, ProtoMessage | None]:
        """A unary call; returns (status, details, response)."""
        self.trace.add("->", self.name, method, "request", request)
        try:
            response = await getattr(self.stub, method)(request, metadata=self.metadata, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            self.trace.add("<-", self.name, method, f"status {error.code().name}")
            return error.code(), error.details() or "", None
        self.trace.add("<-", self.name, method, "OK", response)
        return grpc.StatusCode.OK, "", response

    async def barrier(self, timeout: float = 1.0) -> None:
        """One GetSubscriptions round trip on this peer's connection (any status will do)."""
        try:
            await self.stub.GetSubscriptions(
                agent_worker_pb2.GetSubscriptionsRequest(), metadata=self.metadata, timeout=timeout
            )
        except grpc.aio.AioRpcError:
            pass  # e.g. no client-id: the answer itself is the barrier

    async def shutdown(self) -> None:
        """Cancel every stream and await the readers (no orphan tasks), then close the channel."""
        for handle in self.streams.values():
            handle.call.cancel()
        readers = [h.reader for h in self.streams.values()]
        if readers:
            done, pending = await asyncio.wait(readers, timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        await self.channel.close(grace=None)


async def connect_peer(name: str, client_id: str | None, endpoint: Endpoint, trace: Trace) -> Peer:
    """A peer with its own channel (so streams of different peers never share a connection)."""
    return Peer(name=name, client_id=client_id, channel=open_channel(endpoint), trace=trace, auth=endpoint.auth_metadata())
