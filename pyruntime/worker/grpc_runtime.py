"""GrpcWorkerRuntime: agents in this process, connected to any AgentRpc host over gRPC.

Delivery of a worker's own events: the worker only sends a publish to the host; agents in
this process receive it through the host's echo (the host sends one copy per client that
hosts a matching agent type), exactly like AutoGen's Python and .NET workers. So every
event reaches each local subscriber once, and never the agent that published it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from typing import Any, Mapping, Optional, Sequence

import grpc
from google.protobuf.message import Message as ProtoMessage

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime.model import (
    AgentId,
    InvalidIdentifierError,
    Subscription,
    TopicId,
    direct_message_subscription,
    interned_agent_id,
    interned_topic_id,
)
from pyruntime.wire import (
    ANONYMOUS_SENDER,
    PROTOBUF,
    CloudEventError,
    SerializationError,
    decode_event_data,
    event_payload_type,
    event_sender,
    subscription_to_proto,
    write_event_attributes,
)

from .cancellation import CancellationToken
from .connection import Backoff, HostConnection, TlsSettings
from .context import MessageContext
from .control import StateControl
from .errors import (
    HostConnectionLost,
    PayloadError,
    RecipientNotFound,
    RegistrationError,
    RpcError,
    SubscriptionError,
)
from .reply_wait import await_reply
from .runtime import DEFAULT, DEFAULT_RPC_TIMEOUT, AgentFactory
from .runtime_base import RuntimeBase
from .serialization import FormatOverrides, PayloadCodec

log = logging.getLogger("pyruntime.worker")

# Error texts that mean "nobody hosts that agent type" (ours and our host's).
_NOT_FOUND_PREFIXES = ("no agent type ", "no client has registered agent type ")

def _error_for(text: str) -> Exception:
    if text.startswith(_NOT_FOUND_PREFIXES):
        return RecipientNotFound(text)
    return RpcError(text)


class GrpcWorkerRuntime(RuntimeBase):
    """A worker: hosts agents here, reaches every other agent through the host at ``host_address``.

    ``payload_format`` (``"auto"``, ``"json"`` or ``"protobuf"``) is how this worker sends
    messages; ``payload_formats`` overrides it per message class or type name. ``"auto"``
    sends protobuf messages as protobuf and everything else as JSON; types that cannot use
    the chosen format use their own (dataclasses are always JSON). ``rpc_timeout`` is the
    default for ``send_message``. ``metadata`` is added to every call (for example
    ``pyruntime.security.tokens.bearer_metadata(token)`` for a host that requires a token).
    The worker reconnects on its own when the host goes away.
    """

    def __init__(
        self,
        host_address: str,
        *,
        payload_format: str = "auto",
        payload_formats: Optional[FormatOverrides] = None,
        tls: Optional[TlsSettings] = None,
        rpc_timeout: Optional[float] = DEFAULT_RPC_TIMEOUT,
        connect_timeout: float = 10.0,
        call_timeout: float = 10.0,
        backoff: Backoff = Backoff(),
        outbound_queue_size: int = 4096,
        max_concurrent_handlers: int = 1024,
        control_channel: bool = True,
        channel_options: Sequence[tuple[str, Any]] = (),
        metadata: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(max_concurrent_handlers=max_concurrent_handlers)
        self.host_address = host_address
        self.codec = PayloadCodec(payload_format, payload_formats)
        self.rpc_timeout = rpc_timeout
        self.connect_timeout = connect_timeout
        self._call_timeout = call_timeout
        self._connection = HostConnection(
            host_address,
            self,
            tls=tls,
            queue_size=outbound_queue_size,
            backoff=backoff,
            control_channel=control_channel,
            channel_options=channel_options,
            extra_metadata=metadata,
        )
        self._control = StateControl(self._connection, self._save_local_state, self._load_local_state)
        self._pending: dict[str, asyncio.Future[pb.RpcResponse]] = {}
        # Unique per worker, so two callers never collide at a host that keys by request id alone.
        self._request_prefix = self._connection.client_id[:13] + "-"
        self._request_counter = itertools.count(1)
        # Event ids: unique per worker (uuid prefix) without a uuid4 per event.
        self._event_prefix = str(uuid.uuid4()) + "-"
        self._event_counter = itertools.count(1)
        self._event_templates: dict[tuple[type, Optional[AgentId]], pb.Message] = {}
        self._sync_lock = asyncio.Lock()
        self._host_synced = False

    @property
    def client_id(self) -> str:
        """The ``client-id`` this worker presents to the host (stable across reconnects)."""
        return self._connection.client_id

    @property
    def is_connected(self) -> bool:
        return self._connection.is_connected

    @property
    def connection(self) -> HostConnection:
        return self._connection

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Connect to the host, register every type and subscription; raise ``HostConnectionLost`` if unreachable."""
        if self._running:
            return
        await super().start()
        try:
            await self._connection.start(self.connect_timeout)
        except BaseException:
            await super().stop()
            raise

    async def stop(self) -> None:
        """Disconnect, fail pending calls, stop handlers, close agents."""
        if not self._running:
            return
        await self._connection.close()
        self._fail_pending(HostConnectionLost("the runtime stopped"))
        await self._control.close()
        await super().stop()

    # -- registration -------------------------------------------------------------------
    def add_message_types(self, *classes: type) -> None:
        self.codec.add_types(*classes)

    async def _unary(self, method: str, request: Any) -> Any:
        stub = self._connection.stub
        if stub is None:
            raise HostConnectionLost("not connected to a host")
        return await getattr(stub, method)(request, metadata=self._connection.metadata, timeout=self._call_timeout)

    async def register_factory(
        self, agent_type: str, factory: AgentFactory, *, expected_class: Optional[type] = None
    ) -> str:
        prefix = direct_message_subscription(agent_type)
        async with self._sync_lock:
            self._directory.register(agent_type, factory, expected_class)
            try:
                self._registered_types(expected_class)
                self._subscriptions.add(prefix)
                if self._host_synced:
                    await self._register_at_host(agent_type)
                    await self._add_at_host(prefix)
            except BaseException:
                self._directory.unregister(agent_type)
                if self._subscriptions.get(prefix.id) is not None:
                    self._subscriptions.remove(prefix.id)
                raise
        return agent_type

    async def _register_at_host(self, agent_type: str) -> None:
        try:
            await self._unary("RegisterAgent", pb.RegisterAgentTypeRequest(type=agent_type))
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                return  # the stream is going down; the next session registers it
            raise RegistrationError(f"the host refused agent type {agent_type!r}: {error.details()}") from None

    async def _add_at_host(self, subscription: Subscription) -> None:
        request = pb.AddSubscriptionRequest(subscription=subscription_to_proto(subscription))
        try:
            await self._unary("AddSubscription", request)
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                return
            raise SubscriptionError(f"the host refused subscription {subscription!r}: {error.details()}") from None

    async def add_subscription(self, subscription: Subscription) -> None:
        async with self._sync_lock:
            self._subscriptions.check_new(subscription)
            if self._host_synced:
                await self._add_at_host(subscription)
            self._subscriptions.add(subscription)

    async def remove_subscription(self, subscription_id: str) -> None:
        async with self._sync_lock:
            if self._subscriptions.get(subscription_id) is None:
                raise SubscriptionError(f"no subscription with id {subscription_id!r} in this runtime")
            if self._host_synced:
                try:
                    await self._unary("RemoveSubscription", pb.RemoveSubscriptionRequest(id=subscription_id))
                except grpc.aio.AioRpcError as error:
                    if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                        raise SubscriptionError(
                            f"the host refused to remove subscription {subscription_id!r}: {error.details()}"
                        ) from None
            self._subscriptions.remove(subscription_id)

    async def host_subscriptions(self) -> list[pb.Subscription]:
        """Every subscription the host knows (``GetSubscriptions``), for diagnostics and tests."""
        response = await self._unary("GetSubscriptions", pb.GetSubscriptionsRequest())
        return list(response.subscriptions)

    # -- ConnectionListener ---------------------------------------------------------------
    async def on_connected(self) -> None:
        # Replay under the lock, so a registration racing with a reconnect is sent exactly once.
        async with self._sync_lock:
            if not self._directory.agent_types:
                # Nothing to register would confirm that the host accepts us (a refused token,
                # say): ask something harmless and read-only instead.
                await self._unary("GetSubscriptions", pb.GetSubscriptionsRequest())
            for agent_type in self._directory.agent_types:
                try:
                    await self._unary("RegisterAgent", pb.RegisterAgentTypeRequest(type=agent_type))
                except grpc.aio.AioRpcError as error:
                    if not self._already_mine(error):
                        raise
            for subscription in self._subscriptions.all():
                request = pb.AddSubscriptionRequest(subscription=subscription_to_proto(subscription))
                try:
                    await self._unary("AddSubscription", request)
                except grpc.aio.AioRpcError as error:
                    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                        raise
                    if not self._already_mine(error):
                        log.warning("re-adding subscription %s after reconnect failed: %s", subscription.id, error.details())
            self._host_synced = True

    def _already_mine(self, error: grpc.aio.AioRpcError) -> bool:
        """The host kept this registration for our client-id across a short disconnect."""
        return error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS) and (
            self.client_id in (error.details() or "")
        )

    def on_disconnected(self, error: BaseException) -> None:
        self._host_synced = False
        self._fail_pending(HostConnectionLost(f"lost the connection to the host at {self.host_address}"))

    def _fail_pending(self, error: HostConnectionLost) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(HostConnectionLost(str(error)))
        self._control.fail_pending(HostConnectionLost(str(error)))

    def on_control_message(self, message: pb.ControlMessage) -> None:
        self._control.on_control_message(message)

    def on_message(self, message: pb.Message) -> Optional[Any]:
        kind = message.WhichOneof("message")
        if kind == "response":
            response = message.response
            future = self._pending.pop(response.request_id, None)
            if future is not None and not future.done():
                future.set_result(response)
            return None
        tasks = self._tasks
        if tasks is None or not self._running:
            return None
        if kind == "cloudEvent":
            self._on_event(message.cloudEvent)
        elif kind == "request":
            tasks.spawn(self._on_request, message.request)
        else:
            log.warning("frame with no message set ignored")
            return None
        # A backlog exists only when every handler slot is taken: then pause reading until there is room.
        return tasks.wait_for_room() if tasks.backlog else None

    # -- inbound events -------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        try:
            type_name, content_type = event_payload_type(event)
        except CloudEventError as exc:
            log.warning("event %s on topic %s dropped: %s", event.id, event.type, exc)
            return
        try:
            topic = interned_topic_id(event.type, event.source)
        except InvalidIdentifierError:
            log.warning("event %s dropped: invalid topic type %r", event.id, event.type)
            return
        try:
            message = decode_event_data(self.codec.registry, event, type_name, content_type)
        except SerializationError:
            log.warning("event %s on topic %s not decodable: type %s, content type %s", event.id, event.type, type_name, content_type)
            return
        sender: Optional[AgentId] = None
        ref = event_sender(event)
        if ref is not None and ref != ANONYMOUS_SENDER:
            try:
                sender = interned_agent_id(ref.type, ref.key)
            except InvalidIdentifierError:
                sender = None
        self._deliver_event(message, topic, sender, event.id)

    # -- inbound requests -----------------------------------------------------------------
    async def _on_request(self, request: pb.RpcRequest) -> None:
        # Every protobuf field is read once into a local: each access builds a Python object.
        reply = pb.Message()
        response = reply.response
        request_id = request.request_id
        response.request_id = request_id
        payload = request.payload
        request_content_type = payload.data_content_type
        try:
            message = self.codec.registry.decode_data(payload.data_type, request_content_type, payload.data)
        except SerializationError as exc:
            response.error = "cannot decode the request: " + str(exc)
            await self._send_reply(reply)
            return
        target = request.target
        target_type = target.type
        target_key = target.key
        directory = self._directory
        agent = directory.existing_named(target_type, target_key)
        if agent is None and not directory.has_type(target_type):
            response.error = "no agent type " + repr(target_type) + " is registered at this worker"
            await self._send_reply(reply)
            return
        sender: Optional[AgentId] = None
        if request.HasField("source"):
            try:
                source = request.source
                sender = interned_agent_id(source.type, source.key)
            except InvalidIdentifierError:
                sender = None
        # AgentRpc has no frame by which a caller abandons a call, so what a remote RPC handler can
        # notice is the runtime stopping: the runtime's stop token, shared with event handlers.
        ctx = MessageContext(sender, None, True, self._stop_token, request_id)
        try:
            if agent is None:
                agent = await directory.get(AgentId(target_type, target_key))
            result = await agent.on_message(message, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            response.error = str(exc) or type(exc).__name__
            await self._send_reply(reply)
            return
        if result is not None:
            try:
                self.codec.fill_reply(response.payload, result, request_content_type)
            except SerializationError as exc:
                response.ClearField("payload")
                response.error = "cannot encode the reply: " + str(exc)
        try:
            await self._connection.send(reply)
        except HostConnectionLost:
            log.info("reply %s dropped: the host connection is down", request_id)

    async def _send_reply(self, reply: pb.Message) -> None:
        try:
            await self._connection.send(reply)
        except HostConnectionLost:
            log.info("reply %s dropped: the host connection is down", reply.response.request_id)

    # -- outbound -------------------------------------------------------------------------
    async def send_message(
        self,
        message: Any,
        recipient: AgentId,
        *,
        sender: Optional[AgentId] = None,
        timeout: Optional[float] = DEFAULT,
        cancellation: Optional[CancellationToken] = None,
    ) -> Any:
        """RPC to ``recipient`` through the host; returns the decoded reply (None for an empty one).

        Raises ``RecipientNotFound``, ``RpcError`` (the handler's error text), ``RpcTimeout``,
        ``RpcCancelled``, ``HostConnectionLost`` or ``PayloadError``.
        """
        tasks = self._require_running()
        wait = self.rpc_timeout if timeout is DEFAULT else timeout
        frame = pb.Message()
        request = frame.request
        request_id = self._request_prefix + str(next(self._request_counter))
        request.request_id = request_id
        request.target.type = recipient.type
        request.target.key = recipient.key
        if sender is not None:
            request.source.type = sender.type
            request.source.key = sender.key
        try:
            self.codec.fill_payload(request.payload, message)
        except SerializationError as exc:
            raise PayloadError("cannot encode the request: " + str(exc)) from None
        future: asyncio.Future[pb.RpcResponse] = tasks.loop.create_future()
        self._pending[request_id] = future
        try:
            await self._connection.send(frame)
            response = await await_reply(future, timeout=wait, cancellation=cancellation, action="RPC to", target=recipient)
        finally:
            self._pending.pop(request_id, None)
        if response.error:
            raise _error_for(response.error)
        reply_payload = response.payload
        reply_type = reply_payload.data_type
        if not reply_type:
            return None
        try:
            return self.codec.registry.decode_data(reply_type, reply_payload.data_content_type, reply_payload.data)
        except SerializationError as exc:
            raise PayloadError("cannot decode the reply: " + str(exc)) from None

    async def publish_message(
        self,
        message: Any,
        topic: TopicId,
        *,
        sender: Optional[AgentId] = None,
        message_id: Optional[str] = None,
    ) -> None:
        """Publish through the host; local subscribers get it from the host's echo, the sender never."""
        self._require_running()
        codec = self.codec
        cls = type(message)
        content_type = codec.content_type_for(cls)
        frame = pb.Message()
        try:
            if content_type == PROTOBUF and isinstance(message, ProtoMessage):
                data = None
                type_name = message.DESCRIPTOR.full_name
            else:
                encoded = codec.encode(message, content_type)
                data, type_name = encoded.data, encoded.type_name
        except SerializationError as exc:
            raise PayloadError("cannot encode the event: " + str(exc)) from None
        # The attributes repeat for every event of one type from one sender: copy them from
        # a prepared frame (one C-level copy) instead of five map insertions.
        key = (cls, sender)
        template = self._event_templates.get(key)
        if template is None:
            template = self._event_template(type_name, content_type, sender)
            if len(self._event_templates) >= 4096:
                self._event_templates.clear()
            self._event_templates[key] = template
        frame.CopyFrom(template)
        event = frame.cloudEvent
        event.id = message_id or self._event_prefix + str(next(self._event_counter))
        event.source = topic.source
        event.type = topic.type
        if data is None:
            event.proto_data.Pack(message)
        else:
            event.binary_data = data
        await self._connection.send(frame)

    @staticmethod
    def _event_template(type_name: str, content_type: str, sender: Optional[AgentId]) -> pb.Message:
        frame = pb.Message()
        write_event_attributes(frame.cloudEvent, type_name=type_name, content_type=content_type, sender=sender)
        return frame

    # -- state ------------------------------------------------------------------------------
    async def save_agent_state_remote(self, agent_id: AgentId, *, timeout: float = DEFAULT_RPC_TIMEOUT) -> Mapping[str, Any]:
        """Ask the worker hosting ``agent_id`` (through the host's control channel) for its state."""
        self._require_running()
        return await self._control.save_remote(agent_id, timeout)

    async def load_agent_state_remote(
        self, agent_id: AgentId, state: Mapping[str, Any], *, timeout: float = DEFAULT_RPC_TIMEOUT
    ) -> None:
        """Load ``state`` into ``agent_id`` on whichever worker hosts it (control channel)."""
        self._require_running()
        await self._control.load_remote(agent_id, state, timeout)

    async def _save_local_state(self, agent_id: AgentId) -> Mapping[str, Any]:
        if not self._directory.has_type(agent_id.type):
            raise RecipientNotFound("no agent type " + repr(agent_id.type) + " is registered at this worker")
        return await super().save_agent_state(agent_id)

    async def _load_local_state(self, agent_id: AgentId, state: Mapping[str, Any]) -> None:
        if not self._directory.has_type(agent_id.type):
            raise RecipientNotFound("no agent type " + repr(agent_id.type) + " is registered at this worker")
        await super().load_agent_state(agent_id, state)

    async def save_agent_state(self, agent_id: AgentId) -> Mapping[str, Any]:
        """Local agents directly; agents of types hosted elsewhere through the control channel."""
        if self._directory.has_type(agent_id.type):
            return await super().save_agent_state(agent_id)
        return await self.save_agent_state_remote(agent_id)

    async def load_agent_state(self, agent_id: AgentId, state: Mapping[str, Any]) -> None:
        if self._directory.has_type(agent_id.type):
            await super().load_agent_state(agent_id, state)
        else:
            await self.load_agent_state_remote(agent_id, state)


__all__ = ["GrpcWorkerRuntime"]
