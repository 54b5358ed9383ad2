"""Message templates: placeholders and $-helpers become valid protobuf JSON (and real wire bytes)."""

from __future__ import annotations

import base64
import json

import pytest
from google.protobuf import any_pb2, wrappers_pb2

from conformance.engine.errors import StepFailure
from conformance.engine.materialize import Bindings, resolve, substitute_format, to_proto
from conformance.engine.matchers import Captures
from pyruntime._proto import agent_worker_pb2


def bindings(**captured) -> Bindings:
    return Bindings(ns="cabc", client_ids={"a": "cabc-a", "anon": None}, captures=Captures(dict(captured)))


def test_placeholders_resolve_in_keys_and_values() -> None:
    out = resolve({"destination": "clientid=${client:a}", "type": "${ns}_A", "${ns}_key": 1}, bindings())
    assert out == {"destination": "clientid=cabc-a", "type": "cabc_A", "cabc_key": 1}


@pytest.mark.parametrize("text", ["${client:anon}", "${client:ghost}", "${nope}"])
def test_bad_placeholders_fail_the_step(text: str) -> None:
    with pytest.raises(StepFailure):
        resolve({"x": text}, bindings())


def test_json_payload_is_json_bytes_named_by_type() -> None:
    payload = resolve({"$payload": {"format": "json", "type": "Ping", "fields": {"n": 1}}}, bindings())
    message = to_proto(payload, agent_worker_pb2.Payload)
    assert message.data_type == "Ping" and message.data_content_type == "application/json"
    assert json.loads(message.data) == {"n": 1}


def test_protobuf_payload_is_a_serialized_any() -> None:
    payload = resolve({"$payload": {"format": "protobuf", "type": "google.protobuf.StringValue", "fields": "hi"}}, bindings())
    message = to_proto(payload, agent_worker_pb2.Payload)
    assert message.data_content_type == "application/x-protobuf"
    packed = any_pb2.Any.FromString(message.data)
    assert packed.type_url == "type.googleapis.com/google.protobuf.StringValue"
    value = wrappers_pb2.StringValue()
    assert packed.Unpack(value) and value.value == "hi"


def test_unknown_protobuf_type_fails_the_step() -> None:
    with pytest.raises(StepFailure, match="unknown protobuf type"):
        resolve({"$payload": {"format": "protobuf", "type": "no.Such", "fields": {}}}, bindings())


def test_event_helper_builds_a_python_worker_style_cloud_event() -> None:
    spec = {"$event": {"topic_type": "${ns}_T", "topic_source": "s", "sender": {"type": "A", "key": "k"},
                       "payload": {"format": "json", "type": "Note", "fields": {"t": 1}}}}
    message = to_proto({"cloudEvent": resolve(spec, bindings())}, agent_worker_pb2.Message)
    event = message.cloudEvent
    assert (event.type, event.source, event.spec_version) == ("cabc_T", "s", "1.0")
    assert event.attributes["datacontenttype"].ce_string == "application/json"
    assert event.attributes["dataschema"].ce_string == "Note"
    assert event.attributes["agagentsendertype"].ce_string == "A" and event.attributes["agmsgkind"].ce_string == "publish"
    assert json.loads(event.binary_data) == {"t": 1} and event.id


def test_protobuf_event_uses_proto_data_and_dotnet_style_has_no_spec_version() -> None:
    spec = {"$event": {"topic_type": "T", "topic_source": "s", "spec_version": "",
                       "payload": {"format": "protobuf", "type": "agents.AgentId", "fields": {"type": "x", "key": "y"}}}}
    event = to_proto({"cloudEvent": resolve(spec, bindings())}, agent_worker_pb2.Message).cloudEvent
    assert event.WhichOneof("data") == "proto_data" and event.spec_version == ""
    assert event.proto_data.type_url.endswith("agents.AgentId") and "agagentsendertype" not in event.attributes


def test_bytes_and_refs() -> None:
    assert base64.b64decode(resolve({"$bytes": {"text": "ab", "repeat": 3}}, bindings())) == b"ababab"
    assert base64.b64decode(resolve({"$bytes": {"hex": "ff00"}}, bindings())) == b"\xff\x00"
    assert resolve({"requestId": {"$ref": "rid"}}, bindings(rid="7")) == {"requestId": "7"}
    with pytest.raises(StepFailure):
        resolve({"$ref": "missing"}, bindings())


def test_matchers_keep_their_keys_and_templates_substitute_formats() -> None:
    assert resolve({"id": {"$regex": "${ns}-.*"}}, bindings()) == {"id": {"$regex": "cabc-.*"}}
    assert substitute_format({"f": "${format}", "c": ["${content_type}"]}, "protobuf") == {"f": "protobuf", "c": ["application/x-protobuf"]}


def test_invalid_protobuf_json_fails_the_step() -> None:
    with pytest.raises(StepFailure, match="not valid protobuf JSON"):
        to_proto({"request": {"noSuchField": 1}}, agent_worker_pb2.Message)
