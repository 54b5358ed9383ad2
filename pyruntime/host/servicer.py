"""The AgentRpc servicer: a thin grpc.aio adapter around the routing core.

Streams are served as raw bytes (no (de)serializers on the method handlers): the host
parses each frame itself, so an undecodable or oversize frame is dropped on its own and
the stream keeps going, and an event is forwarded as the very bytes that arrived: one
buffer shared by all recipients, byte-identical, never re-encoded. Only RPC frames are
re-encoded, because their request id is swapped for a host id (see ``rpc.py``).

Per stream there is one reader task and one outbox drained by the call's handler
coroutine: no task per message. Everything runs on one event loop, so the routing state needs no
locks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import grpc
from google.protobuf.message import DecodeError

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime.host.control import AgentDestination, MalformedDestinationError, parse_destination
from pyruntime.host.errors import HostError, HostShuttingDownError, InvalidRequestError, MissingClientIdError
from pyruntime.host.options import HostOptions
from pyruntime.host.outbox import Outbox
from pyruntime.host.routing import Client, RoutingTable
from pyruntime.host.rpc import PendingRequest, PendingRequests
from pyruntime.host.stats import HostStats
from pyruntime.wire import InvalidSubscriptionError, subscription_from_proto, subscription_to_proto

logger = logging.getLogger("pyruntime.host")

SERVICE_NAME = "agents.AgentRpc"
CLIENT_ID_KEY = "client-id"
_Message = pb.Message
_RpcResponse = pb.RpcResponse
_ControlMessage = pb.ControlMessage


class Stream:
    """One open OpenChannel or OpenControlChannel call. Compared by identity."""

    __slots__ = ("client_id", "kind", "outbox", "reader", "released", "ended")

    def __init__(self, client_id: str, kind: str, queue_size: int) -> None:
        self.client_id = client_id
        self.kind = kind  # "data" or "control"
        self.outbox: Outbox[bytes] = Outbox(queue_size)
        self.reader: asyncio.Task[None] | None = None
        self.released = False  # the host has dropped its routing state for this stream
        self.ended = asyncio.Event()  # the gRPC call has finished

    def __repr__(self) -> str:
        return f"<Stream {self.kind} client={self.client_id!r}>"


def _error_frame(request_id: str, error: str) -> bytes:
    return _Message(response=_RpcResponse(request_id=request_id, error=error)).SerializeToString()


def _client_id_of(context: grpc.aio.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == CLIENT_ID_KEY and value:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


class AgentRpcServicer:
    """Implements the six AgentRpc methods on top of :class:`RoutingTable` and :class:`PendingRequests`."""

    def __init__(self, options: HostOptions) -> None:
        self.options = options
        self.routing = RoutingTable(options.type_policy)
        self.stats = HostStats()
        self._loop = asyncio.get_running_loop()
        self.pending = PendingRequests(self._loop, self._on_rpc_expired, options.rpc_timeout)
        self._streams: set[Stream] = set()
        self._grace_timers: dict[Client, asyncio.TimerHandle] = {}
        self._draining = False

    @property
    def draining(self) -> bool:
        """True once :meth:`drain` has begun: new calls and requests are refused."""
        return self._draining

    # ----- wiring --------------------------------------------------------------------
    def generic_handler(self) -> grpc.GenericRpcHandler:
        """Method handlers: raw bytes on the two streams, generated messages on unary calls."""

        def unary(fn: Callable[..., Any], request: Any, response: Any) -> grpc.RpcMethodHandler:
            # The host parses unary bodies itself: gRPC's own deserializer would answer UNKNOWN and
            # log a traceback per bad call (a cheap log flood); a bad body is the caller's error.
            parse = request.FromString
            name = request.DESCRIPTOR.full_name

            async def decoded(body: bytes, context: grpc.aio.ServicerContext) -> Any:
                try:
                    message = parse(body)
                except DecodeError:
                    self.stats.frames_undecodable += 1
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request is not a valid {name}")
                return await fn(message, context)

            return grpc.unary_unary_rpc_method_handler(decoded, response_serializer=response.SerializeToString)

        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "OpenChannel": grpc.stream_stream_rpc_method_handler(self.OpenChannel),
                "OpenControlChannel": grpc.stream_stream_rpc_method_handler(self.OpenControlChannel),
                "RegisterAgent": unary(self.RegisterAgent, pb.RegisterAgentTypeRequest, pb.RegisterAgentTypeResponse),
                "AddSubscription": unary(self.AddSubscription, pb.AddSubscriptionRequest, pb.AddSubscriptionResponse),
                "RemoveSubscription": unary(
                    self.RemoveSubscription, pb.RemoveSubscriptionRequest, pb.RemoveSubscriptionResponse
                ),
                "GetSubscriptions": unary(
                    self.GetSubscriptions, pb.GetSubscriptionsRequest, pb.GetSubscriptionsResponse
                ),
            },
        )

    async def _require_client_id(self, context: grpc.aio.ServicerContext) -> str:
        client_id = _client_id_of(context)
        if client_id is None:
            await self._abort(context, MissingClientIdError())
        if self._draining:
            await self._abort(context, HostShuttingDownError())
        return client_id  # type: ignore[return-value]

    @staticmethod
    async def _abort(context: grpc.aio.ServicerContext, error: HostError) -> None:
        await context.abort(grpc.StatusCode[error.status], str(error))

    # ----- unary calls ---------------------------------------------------------------
    async def RegisterAgent(
        self, request: pb.RegisterAgentTypeRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterAgentTypeResponse:
        client_id = await self._require_client_id(context)
        try:
            added = self.routing.register_agent_type(client_id, request.type)
        except HostError as error:
            logger.info(
                "register refused client=%s agent_type=%s reason=%s",
                client_id, request.type, error.status,
                extra={"client": client_id, "agent_type": request.type},
            )
            await self._abort(context, error)
        if added:
            logger.info(
                "registered client=%s agent_type=%s", client_id, request.type,
                extra={"client": client_id, "agent_type": request.type},
            )
        self._arm_grace_timer(client_id)
        return pb.RegisterAgentTypeResponse()

    async def AddSubscription(
        self, request: pb.AddSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddSubscriptionResponse:
        client_id = await self._require_client_id(context)
        try:
            if not request.HasField("subscription"):
                raise InvalidRequestError("AddSubscriptionRequest.subscription is not set")
            try:
                subscription = subscription_from_proto(request.subscription)
            except InvalidSubscriptionError as exc:
                raise InvalidRequestError(str(exc)) from None
            self.routing.add_subscription(client_id, subscription)
        except HostError as error:
            await self._abort(context, error)
        logger.info(
            "subscribed client=%s id=%s agent_type=%s", client_id, subscription.id, subscription.agent_type,
            extra={"client": client_id, "agent_type": subscription.agent_type},
        )
        self._arm_grace_timer(client_id)
        return pb.AddSubscriptionResponse()

    async def RemoveSubscription(
        self, request: pb.RemoveSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveSubscriptionResponse:
        client_id = await self._require_client_id(context)
        try:
            self.routing.remove_subscription(client_id, request.id)
        except HostError as error:
            await self._abort(context, error)
        logger.info("unsubscribed client=%s id=%s", client_id, request.id, extra={"client": client_id})
        return pb.RemoveSubscriptionResponse()

    async def GetSubscriptions(
        self, request: pb.GetSubscriptionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSubscriptionsResponse:
        await self._require_client_id(context)
        return pb.GetSubscriptionsResponse(
            subscriptions=[subscription_to_proto(s) for s in self.routing.subscriptions()]
        )

    def _arm_grace_timer(self, client_id: str) -> None:
        """A client without a data stream keeps what it registered only for a grace period."""
        client = self.routing.client(client_id)
        if client is None or client.connection is not None or client in self._grace_timers:
            return
        self._grace_timers[client] = self._loop.call_later(
            self.options.registration_grace, self._release_streamless, client
        )

    def _release_streamless(self, client: Client) -> None:
        self._grace_timers.pop(client, None)
        released = self.routing.release_if_streamless(client)
        if released is not None:
            logger.info(
                "released client=%s agent_types=%s subscriptions=%d (no data stream within %.1fs)",
                released.client_id, ",".join(released.agent_types), len(released.subscription_ids),
                self.options.registration_grace, extra={"client": released.client_id},
            )

    # ----- data stream ---------------------------------------------------------------
    async def OpenChannel(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> None:
        client_id = await self._require_client_id(context)
        stream = Stream(client_id, "data", self.options.outbound_queue_size)
        client, previous = self.routing.attach_stream(client_id, stream)
        timer = self._grace_timers.pop(client, None)
        if timer is not None:
            timer.cancel()
        if previous is not None:
            self.stats.streams_replaced += 1
            logger.info("data stream replaced client=%s", client_id, extra={"client": client_id})
            self._close_stream(previous, "ABORTED", "this stream was replaced by a newer OpenChannel with the same client-id")  # type: ignore[arg-type]
        self._streams.add(stream)
        logger.info("data stream opened client=%s peer=%s", client_id, context.peer(), extra={"client": client_id})
        await self._serve(stream, context, self._on_data_frame, f"agentrpc-read-{client_id}")

    async def _serve(
        self,
        stream: Stream,
        context: grpc.aio.ServicerContext,
        on_frame: Callable[[Stream, bytes], Awaitable[None]],
        reader_name: str,
    ) -> None:
        """Write a stream's outbound frames until it closes, then release everything it held.

        The handler uses grpc.aio's reader/writer API (``context.read``/``context.write``)
        rather than request and response async generators: two fewer generator hops per
        frame, measurably cheaper on the host's hot path (benchmarks/PROFILE.md).
        """
        reader = stream.reader = asyncio.create_task(self._read_frames(stream, context, on_frame), name=reader_name)
        get = stream.outbox.get
        write = context.write
        try:
            while (frame := await get()) is not None:
                await write(frame)
            self._set_close_status(stream, context)
        finally:
            await self._stop_reader(reader)
            self._release(stream)
            self._streams.discard(stream)
            stream.ended.set()

    @staticmethod
    def _set_close_status(stream: Stream, context: grpc.aio.ServicerContext) -> None:
        if stream.outbox.close_status is not None:
            status, details = stream.outbox.close_status
            context.set_code(grpc.StatusCode[status])
            context.set_details(details)

    @staticmethod
    async def _stop_reader(reader: asyncio.Task[None]) -> None:
        if not reader.done():
            reader.cancel()
        try:
            await reader
        except asyncio.CancelledError:
            pass

    def _close_stream(self, stream: Stream, status: str, details: str) -> None:
        """End ``stream`` from the host's side: drop its queue and routing state at once.

        The gRPC call itself ends with ``status`` once its writer next runs. A client that
        does not read may hold its call open until it reads or disconnects (gRPC sends the
        status after the frames already in flight), but nothing routes to it any more.
        """
        stream.outbox.close(discard=True, status=(status, details))
        self._release(stream)
        # Stop reading it too: a closed stream must not keep publishing or calling.
        if stream.reader is not None and not stream.reader.done():
            stream.reader.cancel()

    def _release(self, stream: Stream) -> None:
        """Drop everything the host holds for ``stream`` (idempotent)."""
        if stream.released:
            return
        stream.released = True
        stream.outbox.close(discard=True)
        client_id = stream.client_id
        if stream.kind == "control":
            self.routing.detach_control(client_id, stream)
            return
        released = self.routing.detach_stream(client_id, stream)
        if released is not None:
            logger.info(
                "data stream closed client=%s released agent_types=%s subscriptions=%d",
                client_id, ",".join(released.agent_types), len(released.subscription_ids),
                extra={"client": client_id},
            )
        else:
            logger.info("superseded data stream closed client=%s", client_id, extra={"client": client_id})
        for pending in self.pending.fail_target(stream):
            self._send_error_now(
                pending,
                f"the client serving agent type {pending.target_type!r} disconnected before answering",
            )
        self.pending.forget_caller(stream)

    async def _read_frames(
        self, stream: Stream, context: grpc.aio.ServicerContext, on_frame: Callable[[Stream, bytes], Awaitable[None]]
    ) -> None:
        """The per-stream read loop (data and control alike): one frame at a time, each handled on its own."""
        read = context.read
        try:
            while (frame := await read()) is not grpc.aio.EOF:
                try:
                    await on_frame(stream, frame)
                except Exception:  # a host bug must cost one frame, never the stream
                    logger.exception("%s frame handling failed client=%s size=%d", stream.kind, stream.client_id, len(frame))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the call ended under us (client cancel, transport error)
            logger.debug("%s stream read ended client=%s error=%s", stream.kind, stream.client_id, type(error).__name__)
        finally:
            # The client finished sending: flush what is queued for it, then end the call.
            stream.outbox.close()

    async def _on_data_frame(self, stream: Stream, frame: bytes) -> None:
        """Parse, decide, queue. Events are queued as the received bytes (byte-identical)."""
        try:
            message = _Message.FromString(frame)
        except DecodeError:
            self.stats.frames_undecodable += 1
            logger.warning(
                "undecodable frame dropped client=%s size=%d", stream.client_id, len(frame),
                extra={"client": stream.client_id},
            )
            return
        kind = message.WhichOneof("message")
        if len(frame) > self.options.max_message_bytes:
            await self._refuse_oversize(stream, message, kind, len(frame))
        elif kind == "cloudEvent":
            self.stats.events_received += 1
            copies = 0
            for client in self.routing.event_recipients(message.cloudEvent.type):
                target: Stream | None = client.connection  # type: ignore[assignment]
                if target is None:  # owns a matched type but has no stream (yet)
                    continue
                if not target.outbox.put_nowait(frame):
                    await self._put_slow(target, frame)
                copies += 1
            if copies:
                self.stats.events_delivered += copies
            else:
                self._note_unrouted(stream, message.cloudEvent)
        elif kind == "request":
            await self._forward_request(stream, message)
        elif kind == "response":
            await self._forward_response(stream, message)
        else:
            self.stats.messages_empty += 1
            logger.warning(
                "message with nothing set dropped client=%s", stream.client_id, extra={"client": stream.client_id}
            )

    def _note_unrouted(self, stream: Stream, event: Any) -> None:
        self.stats.events_unrouted += 1
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "unrouted event client=%s topic_type=%s topic_source=%s",
                stream.client_id, event.type, event.source,
                extra={"client": stream.client_id, "topic_type": event.type, "topic_source": event.source},
            )

    async def _put_slow(self, target: Stream, frame: bytes) -> None:
        """Backpressure: wait for room; a stream that stays full is closed as not reading."""
        if await target.outbox.put(frame, self.options.send_timeout):
            return
        self.stats.slow_streams_closed += 1
        logger.warning(
            "closing stream that does not read client=%s queued=%d", target.client_id, len(target.outbox),
            extra={"client": target.client_id},
        )
        self._close_stream(
            target,
            "RESOURCE_EXHAUSTED",
            f"stream closed: its outbound queue stayed full for {self.options.send_timeout:g}s (client not reading)",
        )

    async def _reply_error(self, stream: Stream, request_id: str, error: str) -> None:
        self.stats.rpc_errors_sent += 1
        frame = _error_frame(request_id, error)
        if not stream.outbox.put_nowait(frame):
            await self._put_slow(stream, frame)

    def _send_error_now(self, pending: PendingRequest, error: str) -> None:
        """From timers and cleanup (no awaiting): an error reply that bypasses the queue bound."""
        self.stats.rpc_errors_sent += 1
        pending.caller.outbox.force(_error_frame(pending.caller_request_id, error))  # type: ignore[attr-defined]

    async def _refuse_oversize(self, stream: Stream, message: pb.Message, kind: str | None, size: int) -> None:
        self.stats.frames_oversize += 1
        limit = self.options.max_message_bytes
        logger.warning(
            "oversize message refused client=%s kind=%s size=%d limit=%d", stream.client_id, kind, size, limit,
            extra={"client": stream.client_id},
        )
        if kind == "request":
            await self._reply_error(
                stream,
                message.request.request_id,
                f"request of {size} bytes exceeds the host's max message size of {limit} bytes",
            )

    async def _forward_request(self, caller: Stream, message: pb.Message) -> None:
        request = message.request
        caller_request_id = request.request_id
        if self._draining:
            await self._reply_error(caller, caller_request_id, "the host is shutting down; retry against a running host")
            return
        if not request.HasField("target"):
            await self._reply_error(
                caller, caller_request_id, "RpcRequest has no target: set target to the AgentId (type, key) to call"
            )
            return
        target_type = request.target.type
        owner = self.routing.rpc_target(target_type)
        if owner is None:
            logger.info(
                "rpc to unknown agent type client=%s agent_type=%s", caller.client_id, target_type,
                extra={"client": caller.client_id, "agent_type": target_type},
            )
            await self._reply_error(caller, caller_request_id, f"no client has registered agent type {target_type!r}")
            return
        target: Stream | None = owner.connection  # type: ignore[assignment]
        if target is None:
            await self._reply_error(
                caller,
                caller_request_id,
                f"agent type {target_type!r} is registered by client {owner.client_id!r}, which has no open data stream",
            )
            return
        request.request_id = self.pending.start(caller, caller_request_id, target, target_type)
        self.stats.rpc_forwarded += 1
        frame = message.SerializeToString()
        if not target.outbox.put_nowait(frame):
            await self._put_slow(target, frame)

    async def _forward_response(self, responder: Stream, message: pb.Message) -> None:
        response = message.response
        pending = self.pending.complete(responder, response.request_id)
        if pending is None:
            self.stats.responses_unknown += 1
            logger.debug(
                "response for unknown request id dropped client=%s request_id=%s",
                responder.client_id, response.request_id[:64], extra={"client": responder.client_id},
            )
            return
        self.stats.rpc_answered += 1
        response.request_id = pending.caller_request_id
        caller: Stream = pending.caller  # type: ignore[assignment]
        frame = message.SerializeToString()
        if not caller.outbox.put_nowait(frame):
            await self._put_slow(caller, frame)

    def _on_rpc_expired(self, pending: PendingRequest) -> None:
        self.stats.rpc_timeouts += 1
        caller: Stream = pending.caller  # type: ignore[assignment]
        logger.info(
            "rpc timed out client=%s agent_type=%s timeout=%.3fs",
            caller.client_id, pending.target_type, self.pending.timeout,
            extra={"client": caller.client_id, "agent_type": pending.target_type},
        )
        self._send_error_now(
            pending, f"no response from agent type {pending.target_type!r} within {self.pending.timeout:g}s"
        )

    # ----- control stream ------------------------------------------------------------
    async def OpenControlChannel(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> None:
        client_id = await self._require_client_id(context)
        stream = Stream(client_id, "control", self.options.outbound_queue_size)
        previous = self.routing.attach_control(client_id, stream)
        if previous is not None:
            self.stats.streams_replaced += 1
            self._close_stream(previous, "ABORTED", "this stream was replaced by a newer OpenControlChannel with the same client-id")  # type: ignore[arg-type]
        self._streams.add(stream)
        await self._serve(stream, context, self._on_control_frame, f"agentrpc-ctl-{client_id}")

    async def _on_control_frame(self, stream: Stream, frame: bytes) -> None:
        """Route one ControlMessage by its destination, forwarding the received bytes unchanged."""
        if len(frame) > self.options.max_message_bytes:
            self.stats.frames_oversize += 1
            self._drop_control(stream, "oversize control message", size=len(frame))
            return
        try:
            message = _ControlMessage.FromString(frame)
        except DecodeError:
            self.stats.frames_undecodable += 1
            self._drop_control(stream, "undecodable control frame", size=len(frame))
            return
        target = self._control_target(stream, message.destination)
        if target is None:
            return
        self.stats.control_forwarded += 1
        if not target.outbox.put_nowait(frame):
            await self._put_slow(target, frame)

    def _control_target(self, stream: Stream, destination: str) -> Stream | None:
        try:
            parsed = parse_destination(destination)
        except MalformedDestinationError as error:
            self._drop_control(stream, str(error))
            return None
        if isinstance(parsed, AgentDestination):
            owner = self.routing.agent_owner(parsed.agent_type, parsed.key)
            if owner is None:
                self._drop_control(stream, f"no client owns agent type {parsed.agent_type!r}")
                return None
            client_id = owner.client_id
        else:
            client_id = parsed.client_id
        target: Stream | None = self.routing.control_stream(client_id)  # type: ignore[assignment]
        if target is None:
            self._drop_control(stream, f"client {client_id!r} has no open control stream")
        return target

    def _drop_control(self, stream: Stream, reason: str, size: int | None = None) -> None:
        self.stats.control_dropped += 1
        logger.warning(
            "control message dropped client=%s reason=%s size=%s", stream.client_id, reason, size,
            extra={"client": stream.client_id},
        )

    # ----- shutdown ------------------------------------------------------------------
    async def drain(self, grace: float) -> None:
        """Refuse new work, let pending RPCs finish (up to ``grace``), flush and end every stream."""
        self._draining = True
        loop = self._loop
        deadline = loop.time() + grace
        if len(self.pending):
            # Only a draining host waits for the table to empty, so the hook is installed here
            # rather than paid for (an Event clear/set) on every forwarded request.
            emptied: asyncio.Future[None] = loop.create_future()
            self.pending.on_empty = lambda: None if emptied.done() else emptied.set_result(None)
            try:
                await asyncio.wait_for(emptied, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                pass
            finally:
                self.pending.on_empty = None
        for pending in self.pending.fail_all():
            self._send_error_now(pending, "the host shut down before the target answered")
        streams = list(self._streams)
        for stream in streams:
            stream.outbox.close(status=("UNAVAILABLE", "the host is shutting down"))
        if streams:
            waits = [asyncio.ensure_future(stream.ended.wait()) for stream in streams]
            _, not_done = await asyncio.wait(waits, timeout=max(0.05, deadline - loop.time()))
            for waiter in not_done:
                waiter.cancel()
            await asyncio.gather(*not_done, return_exceptions=True)
        for timer in self._grace_timers.values():
            timer.cancel()
        self._grace_timers.clear()
