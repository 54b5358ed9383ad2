"""autogen-ext 0.7.5 workers: ``GrpcWorkerAgentRuntime`` + ``RoutedAgent`` subscribers and an echo agent.

An autogen runtime has one payload format for publishing, so worker A runs two runtimes (JSON and
protobuf) and picks by message type. autogen 0.7.5 always labels RPC payloads ``application/json``
(perf-baseline note 1), so protobuf RPC runs with the documented workaround serializer:
``SerializeToString()`` bytes under the ``application/json`` label. Results mark those cells.
"""

from __future__ import annotations

from typing import Any, Optional

from autogen_core import MessageContext, RoutedAgent, TopicId, TypeSubscription, message_handler
from autogen_core import AgentId as AgAgentId
from autogen_core._serialization import try_get_known_serializers_for_type
from autogen_ext.runtimes.grpc import GrpcWorkerAgentRuntime

from benchmarks.payloads import PROTO_TYPE_NAME, BenchMsg, ProtoMsg
from benchmarks.recorder import ECHO_TYPE, SUBSCRIBER_TYPES, TOPICS, DeliveryRecorder
from benchmarks.stacks import GRPC_SIZE_OPTIONS

JSON_CT = "application/json"
PROTO_CT = "application/x-protobuf"


class ProtoBytesLabelledJson:
    """perf-baseline's workaround: protobuf bytes under the JSON content type (autogen RPC only speaks JSON)."""

    data_content_type = JSON_CT
    type_name = PROTO_TYPE_NAME

    def serialize(self, message: ProtoMsg) -> bytes:
        return message.SerializeToString()

    def deserialize(self, payload: bytes) -> ProtoMsg:
        return ProtoMsg.FromString(payload)


class BenchSubscriber(RoutedAgent):
    def __init__(self, recorder: DeliveryRecorder) -> None:
        super().__init__("benchmark subscriber")
        self._recorder = recorder

    @message_handler
    async def on_json(self, message: BenchMsg, ctx: MessageContext) -> None:
        self._recorder.record(self.id.type, message)

    @message_handler
    async def on_proto(self, message: ProtoMsg, ctx: MessageContext) -> None:
        self._recorder.record(self.id.type, message)


class BenchEcho(RoutedAgent):
    def __init__(self) -> None:
        super().__init__("benchmark echo")

    @message_handler
    async def on_json(self, message: BenchMsg, ctx: MessageContext) -> BenchMsg:
        return message

    @message_handler
    async def on_proto(self, message: ProtoMsg, ctx: MessageContext) -> ProtoMsg:
        return message


def _runtime(address: str, content_type: str) -> GrpcWorkerAgentRuntime:
    runtime = GrpcWorkerAgentRuntime(
        host_address=address, extra_grpc_config=GRPC_SIZE_OPTIONS, payload_serialization_format=content_type
    )
    runtime.add_message_serializer(try_get_known_serializers_for_type(BenchMsg))
    runtime.add_message_serializer(try_get_known_serializers_for_type(ProtoMsg))
    runtime.add_message_serializer(ProtoBytesLabelledJson())
    return runtime


class AutogenEndpoint:
    def __init__(self) -> None:
        self._runtimes: list[GrpcWorkerAgentRuntime] = []
        self._json: Optional[GrpcWorkerAgentRuntime] = None
        self._proto: Optional[GrpcWorkerAgentRuntime] = None
        self._echo = AgAgentId(ECHO_TYPE, "default")

    async def start(self, address: str, role: str, recorder: Optional[DeliveryRecorder]) -> None:
        self._json = _runtime(address, JSON_CT)
        self._runtimes.append(self._json)
        await self._json.start()
        if role == "A":
            self._proto = _runtime(address, PROTO_CT)
            self._runtimes.append(self._proto)
            await self._proto.start()
            return
        assert recorder is not None
        runtime = self._json
        for subscriber in SUBSCRIBER_TYPES:
            await BenchSubscriber.register(runtime, subscriber, lambda: BenchSubscriber(recorder))
        for topic, subscribers in TOPICS.items():
            for subscriber in subscribers:
                await runtime.add_subscription(TypeSubscription(topic_type=topic, agent_type=subscriber))
        await BenchEcho.register(runtime, ECHO_TYPE, BenchEcho)

    def _for(self, message: Any) -> GrpcWorkerAgentRuntime:
        runtime = self._json if isinstance(message, BenchMsg) else self._proto
        assert runtime is not None, "worker A is not started"
        return runtime

    async def publish(self, message: Any, topic_type: str) -> None:
        await self._for(message).publish_message(message, TopicId(topic_type, "default"))

    async def call(self, message: Any) -> Any:
        return await self._for(message).send_message(message, self._echo)

    async def stop(self) -> None:
        for runtime in reversed(self._runtimes):
            await runtime.stop()
