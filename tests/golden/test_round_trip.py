"""Every vector round-trips: binary <-> canonical JSON, and CloudEvents JSON for events."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from conformance.golden.encoding import JSON_OPTIONS, cloudevents_json_of
from pyruntime._proto import cloudevent_pb2
from pyruntime.wire import from_cloudevents_json
from tests.golden.committed_pack import PackVector, vectors

ALL = vectors()
EVENTS = [v for v in ALL if v.has("cloudevents_json")]


def _canonical_json(message) -> bytes:
    return (json_format.MessageToJson(message, **JSON_OPTIONS) + "\n").encode()


def _without_unknown(vector: PackVector) -> bytes:
    message = vector.new_message()
    message.ParseFromString(vector.read("binary"))
    message.DiscardUnknownFields()
    return message.SerializeToString(deterministic=True)


@pytest.mark.parametrize("vector", ALL, ids=lambda v: v.id)
def test_binary_parse_serialize_is_byte_equal(vector: PackVector) -> None:
    binary = vector.read("binary")
    message = vector.new_message()
    message.ParseFromString(binary)
    assert message.SerializeToString(deterministic=True) == binary


@pytest.mark.parametrize("vector", ALL, ids=lambda v: v.id)
def test_binary_to_json_to_binary(vector: PackVector) -> None:
    message = vector.new_message()
    message.ParseFromString(vector.read("binary"))
    text = _canonical_json(message)
    assert text == vector.read("json")
    again = json_format.Parse(text, vector.new_message())
    expected = _without_unknown(vector) if vector.unknown_fields else vector.read("binary")
    assert again.SerializeToString(deterministic=True) == expected


@pytest.mark.parametrize("vector", ALL, ids=lambda v: v.id)
def test_json_to_binary_to_json(vector: PackVector) -> None:
    text = vector.read("json")
    message = json_format.Parse(text, vector.new_message())
    binary = message.SerializeToString(deterministic=True)
    back = vector.new_message()
    back.ParseFromString(binary)
    assert _canonical_json(back) == text
    assert json.loads(json_format.MessageToJson(back)) == json.loads(text)


@pytest.mark.parametrize("vector", EVENTS, ids=lambda v: v.id)
def test_cloudevents_json_round_trip(vector: PackVector) -> None:
    event = from_cloudevents_json(vector.read("cloudevents_json"))
    expected = _without_unknown(vector) if vector.unknown_fields else vector.read("binary")
    assert event.SerializeToString(deterministic=True) == expected
    parsed = cloudevent_pb2.CloudEvent.FromString(vector.read("binary"))
    assert cloudevents_json_of(parsed) == vector.read("cloudevents_json")
    assert cloudevents_json_of(event) == vector.read("cloudevents_json")
