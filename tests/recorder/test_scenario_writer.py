"""Recorded raw traffic becomes a valid scenario with matching rules, and replays green against our host."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.engine.loader import scenarios_from_document
from conformance.engine.profile import load_profile
from conformance.engine.runner import ScenarioRunner
from conformance.recorder import Exchange, Recording, ScenarioWriteError, scenario_from_recording
from conformance.recorder.scenario_writer import case_id_for
from conformance.targets.base import Endpoint
from pyruntime.host import AgentRpcHost, HostOptions
from tests.recorder.conftest import ProxyFactory
from tests.recorder.recorded_traffic import SessionIds, run_session

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "schema" / "scenario.schema.json"


def _kinds(document: dict[str, Any]) -> list[str]:
    return [next(k for k in step if k != "note") for step in document["steps"]]


def _steps(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [step[kind] for step in document["steps"] if kind in step]


async def _record(start_proxy: ProxyFactory) -> tuple[Recording, SessionIds]:
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        proxy = await start_proxy(host.address)
        ids = await run_session(proxy.address)
        for _ in range(100):  # the proxy notes the cancels as its handlers see them (bounded wait)
            if sum(e.kind == "close" for e in proxy.recording.exchanges) == 4:
                break
            await asyncio.sleep(0.02)
        return await proxy.stop(grace=0.1), ids


async def test_recorded_session_becomes_a_valid_scenario_with_matching_rules(start_proxy: ProxyFactory) -> None:
    recording, ids = await _record(start_proxy)
    document = scenario_from_recording(recording, case_id="recorded.raw-session")
    jsonschema.validate(json.loads(json.dumps(document)), json.loads(SCHEMA.read_text()))
    assert document["peers"] == {"worker1": {}, "worker2": {}, "anonymous": {"client_id": False}}
    calls = _steps(document, "call")
    a = next(c["peer"] for c in calls if c["method"] == "RegisterAgent" and "status" not in c)
    b = next(c["peer"] for c in calls if c["method"] == "RegisterAgent" and "status" in c)
    assert {a, b} == {"worker1", "worker2"}
    assert document["tags"] == ["recorded", "json"]
    text = json.dumps(document)
    for secret in (ids.client_a, ids.client_b, ids.subscription, ids.event):
        assert secret not in text, "a random value of the recording was kept literally"
    # Client-ids inside messages became the peers' placeholders.
    control = next(s for s in _steps(document, "send") if s["stream"] == "control")["message"]
    assert control["destination"] == f"clientid=${{client:{b}}}" and control["respondTo"] == f"clientid=${{client:{a}}}"
    assert control["rpcId"] == "${ns}-c1"
    control_seen = next(s for s in _steps(document, "expect") if s["stream"] == "control")["message"]
    assert control_seen["rpcId"] == {"$same_as": control_seen["rpcId"]["$same_as"]} and control_seen["rpcId"]["$same_as"].endswith(".rpcId")
    # Subscription ids are per run, and the same everywhere they appear.
    add = next(c for c in calls if c["method"] == "AddSubscription")
    remove = next(c for c in calls if c["method"] == "RemoveSubscription")
    assert add["request"]["subscription"]["id"] == remove["request"]["id"] == "${ns}-s1"
    assert [c.get("status") for c in calls if c["method"] == "RegisterAgent"] == [None, "ALREADY_EXISTS"]
    anonymous = next(c for c in calls if c["peer"] == "anonymous")
    assert (anonymous["method"], anonymous["status"]) == ("GetSubscriptions", "INVALID_ARGUMENT")
    listing = next(c for c in calls if c["method"] == "GetSubscriptions" and "response" in c)
    assert listing["response"] == {"subscriptions": {"$contains": {"typeSubscription": {"topicType": "rec_topic", "agentType": "rec_a"}}}}
    # Event id: fresh per run when sent, same-as-the-send when received; timestamps only by shape.
    event_sent = next(s for s in _steps(document, "send") if "cloudEvent" in s["message"])
    event_seen = next(s for s in _steps(document, "expect") if "cloudEvent" in s["message"])
    assert event_sent["message"]["cloudEvent"]["id"] == "${ns}-e1"
    assert event_seen["message"]["cloudEvent"]["id"] == {"$same_as": f"{event_sent['capture_as']}.cloudEvent.id"}
    assert "$regex" in event_seen["message"]["cloudEvent"]["attributes"]["time"]["ceTimestamp"]
    assert event_sent["message"]["cloudEvent"]["binaryData"] == {"$bytes": {"text": '{"content": "hi \\u2713", "source": "b"}'}}
    # RPC: the caller's id is per run; the callee's id is captured and echoed; the caller checks its own id comes back.
    request_sent = next(s for s in _steps(document, "send") if "request" in s["message"])
    request_seen = next(s for s in _steps(document, "expect") if "request" in s["message"])
    response_sent = next(s for s in _steps(document, "send") if "response" in s["message"])
    response_seen = next(s for s in _steps(document, "expect") if "response" in s["message"])
    assert request_sent["message"]["request"]["requestId"] == "${ns}-r1"
    assert request_seen["message"]["request"]["requestId"] == {"$capture": "rid1"}
    assert response_sent["message"]["response"]["requestId"] == {"$ref": "rid1"}
    assert response_seen["message"]["response"]["requestId"] == {"$same_as": f"{request_sent['capture_as']}.request.requestId"}
    assert response_seen["message"]["response"]["error"] == {"$absent": True}
    # B's stream closed mid-session; every other stream was still open at the end.
    assert {"close": {"peer": b, "stream": "channel"}} in document["steps"]
    assert _kinds(document).count("open") == 4


async def test_the_recorded_session_replays_green_against_our_host(start_proxy: ProxyFactory) -> None:
    recording, _ = await _record(start_proxy)
    (scenario,) = scenarios_from_document(scenario_from_recording(recording, case_id="recorded.raw-session"), Path("x.json"))
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        runner = ScenarioRunner(Endpoint(address=host.address), load_profile("python"))
        first = await runner.run(scenario)
        assert first.passed, f"{first.failure}\n{first.trace}"
        second = await runner.run(scenario)  # per-run ids: a second replay on the same host does not collide
        assert second.passed, f"{second.failure}\n{second.trace}"


async def test_the_raw_recording_survives_a_json_round_trip(start_proxy: ProxyFactory) -> None:
    recording, _ = await _record(start_proxy)
    again = Recording.from_json(json.loads(json.dumps(recording.to_json())))
    assert [e.to_json() for e in again.exchanges] == [e.to_json() for e in recording.exchanges]
    assert scenario_from_recording(again) == scenario_from_recording(recording)


def test_two_streams_of_one_client_at_once_become_a_second_peer_of_the_same_client() -> None:
    recording = Recording(
        upstream="127.0.0.1:1",
        exchanges=[
            Exchange(0, 0.0, "open", "c", "channel", 1),
            Exchange(1, 0.1, "open", "c", "channel", 2),
            Exchange(2, 0.2, "close", "c", "channel", 1),
            Exchange(3, 0.3, "end", "c", "channel", 2, code="FAILED_PRECONDITION", details="no"),
            Exchange(4, 0.4, "open", "c", "channel", 3),
        ],
    )
    document = scenario_from_recording(recording)
    assert document["peers"] == {"worker1": {}, "worker1_2": {"same_client_as": "worker1"}}
    assert document["steps"] == [
        {"open": {"peer": "worker1", "stream": "channel"}},
        {"open": {"peer": "worker1_2", "stream": "channel"}},
        {"close": {"peer": "worker1", "stream": "channel"}},
        {"expect_end": {"peer": "worker1_2", "stream": "channel", "status": "FAILED_PRECONDITION"}},
        {"open": {"peer": "worker1", "stream": "channel"}},
    ]
    assert document["tags"] == ["recorded", "none"]


def test_an_empty_recording_is_a_clear_error() -> None:
    with pytest.raises(ScenarioWriteError, match="no exchange"):
        scenario_from_recording(Recording(upstream="x"))


def test_case_ids_are_valid_hierarchical_ids() -> None:
    assert case_id_for("My Session #1") == "recorded.my-session-1"
    assert case_id_for("___") == "recorded.session"
    with pytest.raises(ScenarioWriteError, match="hierarchical"):
        scenario_from_recording(Recording(), case_id="Not Valid")


async def test_a_namespaced_recording_replays_twice_at_once_on_one_host(start_proxy: ProxyFactory) -> None:
    recording, _ = await _record(start_proxy)
    document = scenario_from_recording(recording, case_id="recorded.raw-session", namespace=True)
    text = json.dumps(document)
    assert '"rec_a"' not in text and '"rec_topic"' not in text
    assert '"${ns}_rec_a"' in text and '"${ns}_rec_topic"' in text
    assert '"key": "k"' in text  # keys and sources are not types: untouched
    (scenario,) = scenarios_from_document(document, Path("x.json"))
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        runner = ScenarioRunner(Endpoint(address=host.address), load_profile("python"))
        outcomes = await asyncio.gather(runner.run(scenario), runner.run(scenario))
    for outcome in outcomes:
        assert outcome.passed, f"{outcome.failure}\n{outcome.trace}"


async def test_without_namespace_two_replays_at_once_collide(start_proxy: ProxyFactory) -> None:
    """The control for the test above: the literal agent type clashes between concurrent replays."""
    recording, _ = await _record(start_proxy)
    (scenario,) = scenarios_from_document(scenario_from_recording(recording, case_id="recorded.raw-session"), Path("x.json"))
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        runner = ScenarioRunner(Endpoint(address=host.address), load_profile("python"))
        outcomes = await asyncio.gather(runner.run(scenario), runner.run(scenario))
    assert sorted(o.passed for o in outcomes) == [False, True]
