"""Our host driven by autogen-ext 0.7.5 GrpcWorkerAgentRuntime workers (the reference peer)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

import pytest

pytest.importorskip("autogen_ext.runtimes.grpc", reason="autogen-ext[grpc]==0.7.5 is not installed")

from autogen_core import (  # noqa: E402
    PROTOBUF_DATA_CONTENT_TYPE,
    AgentId,
    MessageContext,
    RoutedAgent,
    TopicId,
    TypePrefixSubscription,
    TypeSubscription,
    message_handler,
    try_get_known_serializers_for_type,
)
from autogen_ext.runtimes.grpc import GrpcWorkerAgentRuntime  # noqa: E402

from pyruntime._proto import agent_worker_pb2 as pb  # noqa: E402
from pyruntime.host import AgentRpcHost  # noqa: E402

pytestmark = pytest.mark.autogen

WAIT = 5.0


@dataclass
class Note:
    text: str


Delivery = tuple[str, object, TopicId | None]


class Collector(RoutedAgent):
    """Records every Note or protobuf AgentId it receives into a queue."""

    def __init__(self, sink: asyncio.Queue[Delivery]) -> None:
        super().__init__("collects notes")
        self._sink = sink

    @message_handler
    async def on_note(self, message: Note, ctx: MessageContext) -> None:
        self._sink.put_nowait((str(self.id), message, ctx.topic_id))

    @message_handler
    async def on_proto(self, message: pb.AgentId, ctx: MessageContext) -> None:
        self._sink.put_nowait((str(self.id), message, ctx.topic_id))


class Echo(RoutedAgent):
    """Answers a Note with the same text in upper case, tagged with its own key."""

    def __init__(self) -> None:
        super().__init__("echo")

    @message_handler
    async def on_note(self, message: Note, ctx: MessageContext) -> Note:
        return Note(text=f"{message.text.upper()}@{self.id.key}")


class Silent(RoutedAgent):
    """A handler that returns None: autogen's worker then sends no RpcResponse at all."""

    def __init__(self) -> None:
        super().__init__("silent")

    @message_handler
    async def on_note(self, message: Note, ctx: MessageContext) -> None:
        return None




@pytest.fixture
async def workers() -> AsyncIterator[Callable[[AgentRpcHost, bool], Awaitable[GrpcWorkerAgentRuntime]]]:
    """``await workers(host, protobuf=False)``: a started autogen worker, stopped at teardown."""
    started: list[GrpcWorkerAgentRuntime] = []

    async def start(host: AgentRpcHost, protobuf: bool = False) -> GrpcWorkerAgentRuntime:
        kwargs = {"payload_serialization_format": PROTOBUF_DATA_CONTENT_TYPE} if protobuf else {}
        runtime = GrpcWorkerAgentRuntime(host_address=host.address, **kwargs)
        runtime.add_message_serializer(try_get_known_serializers_for_type(Note))
        runtime.add_message_serializer(try_get_known_serializers_for_type(pb.AgentId))
        await asyncio.wait_for(runtime.start(), WAIT)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        if runtime._running:  # some tests stop a worker themselves
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runtime.stop(), WAIT)


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (bounded) for host-side state the workers cannot observe directly."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, "host state did not change in time"
        await asyncio.sleep(0.01)


async def collector_worker(start, host, sink, agent_type="collector", protobuf=False) -> GrpcWorkerAgentRuntime:
    runtime = await start(host, protobuf)
    await Collector.register(runtime, agent_type, lambda: Collector(sink))
    return runtime


async def next_delivery(sink: asyncio.Queue[Delivery]) -> Delivery:
    return await asyncio.wait_for(sink.get(), WAIT)


async def test_publish_subscribe_dataclass_json_with_type_and_prefix_subscriptions(host, workers) -> None:
    sink: asyncio.Queue[Delivery] = asyncio.Queue()
    subscriber = await collector_worker(workers, host, sink)
    await subscriber.add_subscription(TypeSubscription("notes", "collector"))
    await subscriber.add_subscription(TypePrefixSubscription("alerts.", "collector"))
    publisher = await workers(host)

    await publisher.publish_message(Note("hello"), TopicId("notes", "session-1"))
    agent, message, topic = await next_delivery(sink)
    assert (agent, message, topic) == ("collector/session-1", Note("hello"), TopicId("notes", "session-1"))

    unrouted = host.stats.events_unrouted
    await publisher.publish_message(Note("no prefix match"), TopicId("alerts", "s"))  # "alerts" lacks the "."
    await publisher.publish_message(Note("fire"), TopicId("alerts.fire", "s2"))
    agent, message, topic = await next_delivery(sink)
    assert (agent, message) == ("collector/s2", Note("fire"))
    assert host.stats.events_unrouted == unrouted + 1 and sink.empty()


async def test_publish_subscribe_protobuf_payloads(host, workers) -> None:
    sink: asyncio.Queue[Delivery] = asyncio.Queue()
    subscriber = await collector_worker(workers, host, sink, protobuf=True)
    await subscriber.add_subscription(TypeSubscription("ids", "collector"))
    publisher = await workers(host, True)
    await publisher.publish_message(pb.AgentId(type="x", key="y"), TopicId("ids", "k"))
    agent, message, _ = await next_delivery(sink)
    assert agent == "collector/k" and isinstance(message, pb.AgentId) and (message.type, message.key) == ("x", "y")


async def test_rpc_between_workers_and_colliding_request_ids(host, workers) -> None:
    callee = await workers(host)
    await Echo.register(callee, "echo", Echo)
    caller_1, caller_2 = await workers(host), await workers(host)
    # Both callers are fresh, so both number their requests "1", "2", ...: they must not collide.
    replies = await asyncio.wait_for(
        asyncio.gather(
            caller_1.send_message(Note("one"), AgentId("echo", "a")),
            caller_2.send_message(Note("two"), AgentId("echo", "b")),
            caller_1.send_message(Note("three"), AgentId("echo", "c")),
        ),
        WAIT,
    )
    assert replies == [Note("ONE@a"), Note("TWO@b"), Note("THREE@c")]


async def test_rpc_to_an_unknown_type_fails_at_once(host, workers) -> None:
    caller = await workers(host)
    with pytest.raises(Exception, match="no client has registered agent type 'nobody'"):
        await asyncio.wait_for(caller.send_message(Note("?"), AgentId("nobody", "k")), WAIT)


async def test_rpc_that_is_never_answered_times_out(start_host, workers) -> None:
    host = await start_host(rpc_timeout=0.3)
    callee = await workers(host)
    await Silent.register(callee, "silent", Silent)
    caller = await workers(host)
    with pytest.raises(Exception, match="within 0.3s"):
        await asyncio.wait_for(caller.send_message(Note("hello?"), AgentId("silent", "k")), WAIT)


async def test_removing_a_subscription_stops_delivery(host, workers) -> None:
    sink: asyncio.Queue[Delivery] = asyncio.Queue()
    subscriber = await collector_worker(workers, host, sink)
    subscription = TypeSubscription("notes", "collector")
    await subscriber.add_subscription(subscription)
    publisher = await workers(host)
    await publisher.publish_message(Note("before"), TopicId("notes", "s"))
    assert (await next_delivery(sink))[1] == Note("before")
    await subscriber.remove_subscription(subscription.id)
    assert subscription.id not in {s.id for s in host.routing.subscriptions()}
    unrouted = host.stats.events_unrouted
    await publisher.publish_message(Note("after"), TopicId("notes", "s"))
    await until(lambda: host.stats.events_unrouted == unrouted + 1)
    assert sink.empty()


async def test_worker_disconnect_releases_its_types_and_subscriptions(host, workers) -> None:
    sink: asyncio.Queue[Delivery] = asyncio.Queue()
    first = await collector_worker(workers, host, sink)
    await first.add_subscription(TypeSubscription("notes", "collector"))
    assert host.routing.owners("collector")
    await asyncio.wait_for(first.stop(), WAIT)
    await until(lambda: not host.routing.owners("collector") and not host.routing.subscriptions())
    # The type is free again: a new worker takes it over and receives events.
    second_sink: asyncio.Queue[Delivery] = asyncio.Queue()
    second = await collector_worker(workers, host, second_sink)
    await second.add_subscription(TypeSubscription("notes", "collector"))
    publisher = await workers(host)
    await publisher.publish_message(Note("again"), TopicId("notes", "s"))
    assert (await next_delivery(second_sink))[1] == Note("again")
    assert sink.empty()
