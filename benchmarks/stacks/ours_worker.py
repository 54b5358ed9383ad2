"""Our workers: ``pyruntime.worker.GrpcWorkerRuntime`` with ``Agent`` subscribers and an echo agent.

One runtime per worker: with ``payload_format="protobuf"`` the protobuf message travels as
protobuf (publish and RPC) while the dataclass keeps JSON, so both formats share a connection.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from benchmarks.payloads import BenchMsg, ProtoMsg
from benchmarks.recorder import ECHO_TYPE, SUBSCRIBER_TYPES, TOPICS, DeliveryRecorder
from benchmarks.stacks import GRPC_SIZE_OPTIONS
from pyruntime.model import AgentId, TopicId, TypeSubscription
from pyruntime.worker.agent import Agent, event, rpc
from pyruntime.worker.context import MessageContext
from pyruntime.worker.grpc_runtime import GrpcWorkerRuntime


class BenchSubscriber(Agent):
    def __init__(self, recorder: DeliveryRecorder) -> None:
        super().__init__("benchmark subscriber")
        self._recorder = recorder

    @event
    async def on_event(self, message: Union[BenchMsg, ProtoMsg], ctx: MessageContext) -> None:
        self._recorder.record(self.id.type, message)


class BenchEcho(Agent):
    @rpc
    async def on_call(self, message: Union[BenchMsg, ProtoMsg], ctx: MessageContext) -> Union[BenchMsg, ProtoMsg]:
        return message


class OursEndpoint:
    def __init__(self) -> None:
        self._runtime: Optional[GrpcWorkerRuntime] = None
        self._echo = AgentId(ECHO_TYPE, "default")

    async def start(self, address: str, role: str, recorder: Optional[DeliveryRecorder]) -> None:
        runtime = GrpcWorkerRuntime(address, payload_format="protobuf", channel_options=GRPC_SIZE_OPTIONS,
                                    control_channel=False)
        runtime.add_message_types(BenchMsg, ProtoMsg)
        self._runtime = runtime
        if role == "B":
            assert recorder is not None
            for subscriber in SUBSCRIBER_TYPES:
                await BenchSubscriber.register(runtime, subscriber, lambda: BenchSubscriber(recorder))
            for topic, subscribers in TOPICS.items():
                for subscriber in subscribers:
                    await runtime.add_subscription(TypeSubscription(topic_type=topic, agent_type=subscriber))
            await BenchEcho.register(runtime, ECHO_TYPE)
        await runtime.start()

    async def publish(self, message: Any, topic_type: str) -> None:
        assert self._runtime is not None
        await self._runtime.publish_message(message, TopicId(topic_type, "default"))

    async def call(self, message: Any) -> Any:
        assert self._runtime is not None
        return await self._runtime.send_message(message, self._echo)

    async def stop(self) -> None:
        if self._runtime is not None:
            await self._runtime.stop()
