"""The loop end to end: autogen workers -> recorder -> autogen host; then the recording replays.

Three autogen-ext 0.7.5 workers hold a short conversation through the recording proxy in front of
autogen's own host: a dataclass JSON publish, a protobuf publish, and one RPC. The scenario the
recorder writes must validate, and the conformance engine must replay it green against a fresh
autogen host and against our host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

pytest.importorskip("autogen_ext.runtimes.grpc", reason="autogen-ext[grpc]==0.7.5 is not installed here")

from autogen_core import (  # noqa: E402
    PROTOBUF_DATA_CONTENT_TYPE,
    AgentId,
    MessageContext,
    RoutedAgent,
    TopicId,
    message_handler,
    try_get_known_serializers_for_type,
    type_subscription,
)
from autogen_ext.runtimes.grpc import GrpcWorkerAgentRuntime, GrpcWorkerAgentRuntimeHost  # noqa: E402
from google.protobuf import wrappers_pb2  # noqa: E402

from conformance.engine.loader import scenarios_from_document  # noqa: E402
from conformance.engine.profile import load_profile  # noqa: E402
from conformance.engine.runner import CaseOutcome, ScenarioRunner  # noqa: E402
from conformance.recorder import scenario_from_recording  # noqa: E402
from conformance.targets.base import Endpoint  # noqa: E402
from pyruntime.host import AgentRpcHost, HostOptions  # noqa: E402
from tests.recorder.recorded_traffic import run_session  # noqa: E402

pytestmark = pytest.mark.autogen

WAIT = 5.0
SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "schema" / "scenario.schema.json"


@dataclass
class ChatMessage:
    content: str
    source: str


@dataclass
class Question:
    text: str


@dataclass
class Answer:
    text: str


Delivery = tuple[str, Any]


@type_subscription(topic_type="chat")
class Listener(RoutedAgent):
    """Collects what is published on the chat topic (JSON dataclasses and protobuf StringValues)."""

    def __init__(self, sink: asyncio.Queue[Delivery]) -> None:
        super().__init__("listens to chat")
        self._sink = sink

    @message_handler
    async def on_chat(self, message: ChatMessage, ctx: MessageContext) -> None:
        self._sink.put_nowait((str(self.id), message))

    @message_handler
    async def on_text(self, message: wrappers_pb2.StringValue, ctx: MessageContext) -> None:
        self._sink.put_nowait((str(self.id), message))


class Responder(RoutedAgent):
    """Answers a Question directly (the RPC of the conversation)."""

    def __init__(self) -> None:
        super().__init__("answers questions")

    @message_handler
    async def on_question(self, message: Question, ctx: MessageContext) -> Answer:
        return Answer(text=f"answer to {message.text} from {self.id.key}")


def _free_address() -> str:
    # autogen's host takes an address, not port 0 it could report back; pick a free loopback port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@contextlib.asynccontextmanager
async def autogen_host() -> AsyncIterator[str]:
    address = _free_address()
    host = GrpcWorkerAgentRuntimeHost(address=address)
    host.start()
    try:
        yield address
    finally:
        await host.stop(grace=0.2)


async def _worker(address: str, protobuf: bool = False) -> GrpcWorkerAgentRuntime:
    kwargs = {"payload_serialization_format": PROTOBUF_DATA_CONTENT_TYPE} if protobuf else {}
    runtime = GrpcWorkerAgentRuntime(host_address=address, **kwargs)
    for cls in (ChatMessage, Question, Answer, wrappers_pb2.StringValue):
        runtime.add_message_serializer(try_get_known_serializers_for_type(cls))
    await asyncio.wait_for(runtime.start(), WAIT)
    return runtime


async def _conversation(proxy_address: str) -> list[Delivery]:
    """The recorded conversation; returns what the listener received (in order) and the RPC answer."""
    sink: asyncio.Queue[Delivery] = asyncio.Queue()
    agents = await _worker(proxy_address)
    chatter = await _worker(proxy_address)
    proto_chatter = await _worker(proxy_address, protobuf=True)
    seen: list[Delivery] = []
    try:
        await Listener.register(agents, "listener", lambda: Listener(sink))
        await Responder.register(agents, "responder", Responder)
        await chatter.publish_message(ChatMessage("hello, recorder ✓", "user"), TopicId("chat", "room-1"))
        seen.append(await asyncio.wait_for(sink.get(), WAIT))
        await proto_chatter.publish_message(wrappers_pb2.StringValue(value="protobuf hello"), TopicId("chat", "room-1"))
        seen.append(await asyncio.wait_for(sink.get(), WAIT))
        answer = await asyncio.wait_for(chatter.send_message(Question("life"), AgentId("responder", "default")), WAIT)
        seen.append(("rpc", answer))
    finally:
        for runtime in (chatter, proto_chatter, agents):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runtime.stop(), WAIT)
    return seen


async def _replay(document: dict[str, Any], address: str, profile: str) -> CaseOutcome:
    (scenario,) = scenarios_from_document(document, Path("recorded.json"))
    return await ScenarioRunner(Endpoint(address=address), load_profile(profile)).run(scenario)


async def _streams_settled(recording: Any, timeout: float = WAIT) -> None:
    """Wait (bounded) until the proxy has seen every stream the workers opened end: a worker's stop
    cancels its streams and the proxy learns of it a moment later. Stopping the proxy before then
    would leave that close out of the recording (closes after stop are the proxy's own, not recorded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        kinds = [e.kind for e in recording.exchanges]
        if kinds.count("open") == kinds.count("close") + kinds.count("end"):
            return
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def recorded() -> tuple[dict[str, Any], list[Delivery]]:
    """Record the conversation once for the module (it is the slow part: ~1 s)."""

    async def run() -> tuple[dict[str, Any], list[Delivery]]:
        from conformance.recorder import RecordingProxy

        async with autogen_host() as upstream:
            proxy = RecordingProxy("127.0.0.1:0", upstream)
            address = await proxy.start()
            try:
                seen = await _conversation(address)
                await _streams_settled(proxy.recording)
            finally:
                recording = await proxy.stop(grace=0.2)
        return scenario_from_recording(recording, case_id="recorded.autogen-conversation"), seen

    return asyncio.run(run())


def test_the_conversation_went_through_the_proxy(recorded: tuple[dict[str, Any], list[Delivery]]) -> None:
    _, seen = recorded
    assert seen[0] == ("listener/room-1", ChatMessage("hello, recorder ✓", "user"))
    assert seen[1] == ("listener/room-1", wrappers_pb2.StringValue(value="protobuf hello"))
    assert seen[2] == ("rpc", Answer("answer to life from default"))


def test_the_scenario_validates_and_names_one_peer_per_worker(recorded: tuple[dict[str, Any], list[Delivery]]) -> None:
    document, _ = recorded
    jsonschema.validate(json.loads(json.dumps(document)), json.loads(SCHEMA.read_text()))
    assert set(document["peers"]) == {"worker1", "worker2", "worker3"}
    kinds = [next(k for k in step if k != "note") for step in document["steps"]]
    assert kinds.count("open") == 3 and kinds.count("close") == 3
    assert {s["call"]["request"]["type"] for s in document["steps"] if "call" in s and s["call"]["method"] == "RegisterAgent"} == {"listener", "responder"}
    text = json.dumps(document)
    # Volatile values became rules: per-run ids, captures, no literal uuids from the recording.
    assert '"$same_as": "sent' in text and '"$capture": "rid1"' in text and '{"$ref": "rid1"}' in text
    assert '"${ns}-s1"' in text and '"${ns}-e1"' in text and '"${ns}-r1"' in text
    sends = [s["send"]["message"] for s in document["steps"] if "send" in s]
    assert [m.get("cloudEvent", {}).get("attributes", {}).get("datacontenttype", {}).get("ceString") for m in sends if "cloudEvent" in m] == [
        "application/json",
        "application/x-protobuf",
    ]


async def test_replays_green_against_autogens_host(recorded: tuple[dict[str, Any], list[Delivery]]) -> None:
    document, _ = recorded
    async with autogen_host() as address:
        outcome = await _replay(document, address, "autogen")
    assert outcome.passed, f"{outcome.failure}\n{outcome.trace}"


async def test_replays_green_against_our_host(recorded: tuple[dict[str, Any], list[Delivery]]) -> None:
    document, _ = recorded
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        outcome = await _replay(document, host.address, "python")
    assert outcome.passed, f"{outcome.failure}\n{outcome.trace}"


async def test_a_broken_replay_fails_at_the_changed_step(recorded: tuple[dict[str, Any], list[Delivery]]) -> None:
    """Negative control: the replay really checks what was received (a changed payload fails)."""
    document, _ = recorded
    broken = json.loads(json.dumps(document))
    index, expect = next((i, s["expect"]) for i, s in enumerate(broken["steps"]) if "expect" in s and "cloudEvent" in s["expect"]["message"])
    expect["message"]["cloudEvent"]["type"] = "not-the-recorded-topic"
    async with autogen_host() as address:
        outcome = await _replay(broken, address, "autogen")
    assert not outcome.passed and outcome.failed_step == index


async def _deviations(document: dict[str, Any], address: str, profile: str, limit: int = 5) -> list[tuple[str, str, str]]:
    """Replay; at each failing call whose status differs, accept the observed status too and replay again.

    Returns (method, recorded status, observed status) per deviation, in step order; fails the test on
    any other kind of failure (those are not status deviations).
    """
    document = json.loads(json.dumps(document))
    found: list[tuple[str, str, str]] = []
    for _ in range(limit):
        outcome = await _replay(document, address, profile)
        if outcome.passed:
            return found
        step = document["steps"][outcome.failed_step]
        observed = re.search(r"got ([A-Z_]+)", outcome.failure or "")
        assert "call" in step and observed, f"not a status deviation: {outcome.failure}"
        recorded = step["call"].get("status", "OK")
        found.append((step["call"]["method"], recorded, observed.group(1)))
        step["call"]["status"] = {"any_of": [recorded, observed.group(1)]}
    raise AssertionError(f"more than {limit} deviations: {found}")


async def test_raw_traffic_recorded_on_autogens_host_shows_which_deviations_our_host_has(start_proxy) -> None:
    """A session with error paths, recorded on autogen's host: green there, and exactly the known status deviations on ours."""
    async with autogen_host() as upstream:
        proxy = await start_proxy(upstream)
        await run_session(proxy.address)
        for _ in range(100):  # the proxy notes the four cancels as its handlers see them (bounded wait)
            if sum(e.kind == "close" for e in proxy.recording.exchanges) == 4:
                break
            await asyncio.sleep(0.02)
        recording = await proxy.stop(grace=0.1)
    document = scenario_from_recording(recording, case_id="recorded.raw-session-on-autogen")
    async with autogen_host() as address:
        assert await _deviations(document, address, "autogen") == []
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        deviations = await _deviations(document, host.address, "python")
    # Our host answers a clash of agent types with ALREADY_EXISTS (autogen: INVALID_ARGUMENT).
    assert deviations == [("RegisterAgent", "INVALID_ARGUMENT", "ALREADY_EXISTS")]


async def test_the_namespaced_conversation_replays_twice_at_once_on_autogens_host() -> None:
    """With --namespace the same recording runs concurrently with itself (agent types are per run)."""

    async def record_once() -> dict[str, Any]:
        from conformance.recorder import RecordingProxy

        async with autogen_host() as upstream:
            proxy = RecordingProxy("127.0.0.1:0", upstream)
            address = await proxy.start()
            try:
                await _conversation(address)
            finally:
                recording = await proxy.stop(grace=0.2)
        return scenario_from_recording(recording, case_id="recorded.autogen-conversation", namespace=True)

    document = await record_once()
    (scenario,) = scenarios_from_document(document, Path("recorded.json"))
    async with autogen_host() as address:
        runner = ScenarioRunner(Endpoint(address=address), load_profile("autogen"))
        outcomes = await asyncio.gather(runner.run(scenario), runner.run(scenario))
    for outcome in outcomes:
        assert outcome.passed, f"{outcome.failure}\n{outcome.trace}"
