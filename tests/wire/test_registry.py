from __future__ import annotations

from dataclasses import dataclass

import pytest
from google.protobuf import any_pb2

from pyruntime._proto import agent_worker_pb2
from pyruntime.wire import JSON, PROTOBUF, EncodedPayload, SerializationError, SerializationRegistry, type_name_of


@dataclass
class Greeting:
    text: str
    count: int = 0


def test_type_names_follow_autogen() -> None:
    assert type_name_of(Greeting) == "Greeting"
    assert type_name_of(Greeting("x")) == "Greeting"
    assert type_name_of(agent_worker_pb2.AgentId) == "agents.AgentId"
    assert type_name_of(agent_worker_pb2.RpcRequest()) == "agents.RpcRequest"


def test_dataclass_json_roundtrip_and_body() -> None:
    registry = SerializationRegistry()
    payload = registry.encode(Greeting("hé", 2))
    assert payload == EncodedPayload("Greeting", JSON, b'{"text": "h\\u00e9", "count": 2}')
    assert registry.decode(payload) == Greeting("hé", 2)


def test_protobuf_travels_as_any() -> None:
    registry = SerializationRegistry()
    message = agent_worker_pb2.AgentId(type="a", key="b")
    payload = registry.encode(message)
    assert (payload.type_name, payload.content_type) == ("agents.AgentId", PROTOBUF)
    packed = any_pb2.Any.FromString(payload.data)
    assert packed.type_url == "type.googleapis.com/agents.AgentId"
    assert registry.decode(payload) == message
    as_json = registry.encode(message, JSON)
    assert registry.decode(as_json) == message


def test_preferred_format_can_be_chosen_per_type() -> None:
    registry = SerializationRegistry()
    registry.set_preferred(agent_worker_pb2.AgentId, JSON)
    assert registry.encode(agent_worker_pb2.AgentId(type="a")).content_type == JSON


@pytest.mark.parametrize(
    "payload",
    [
        EncodedPayload("Nope", JSON, b"{}"),
        EncodedPayload("Greeting", PROTOBUF, b""),
        EncodedPayload("Greeting", JSON, b"{not json"),
        EncodedPayload("Greeting", JSON, b"[1, 2]"),
        EncodedPayload("Greeting", JSON, b'{"text": "x", "bogus": 1}'),
        EncodedPayload("Greeting", JSON, b'{"count": 1}'),
        EncodedPayload("agents.AgentId", PROTOBUF, b"\xff\xff\xff"),
        EncodedPayload("agents.AgentId", PROTOBUF, any_pb2.Any(type_url="type.googleapis.com/agents.Payload").SerializeToString()),
    ],
    ids=["unknown", "wrong-content-type", "bad-json", "json-array", "extra-field", "missing-field", "bad-any", "other-any"],
)
def test_unknown_types_and_bad_bytes_raise_one_error_naming_both(payload: EncodedPayload) -> None:
    registry = SerializationRegistry()
    registry.add_type(Greeting)
    registry.add_type(agent_worker_pb2.AgentId)
    with pytest.raises(SerializationError) as info:
        registry.decode(payload)
    assert info.value.type_name == payload.type_name
    assert info.value.content_type == payload.content_type
    assert repr(payload.type_name) in str(info.value) and repr(payload.content_type) in str(info.value)


def test_unserializable_class_is_refused_clearly() -> None:
    class Plain:
        pass

    with pytest.raises(SerializationError, match="dataclass, a pydantic model or a protobuf message"):
        SerializationRegistry().encode(Plain())
    with pytest.raises(SerializationError):
        SerializationRegistry().encode(Greeting("x"), PROTOBUF)


@dataclass
class Inner:
    x: int


@dataclass
class Outer:
    inner: Inner
    items: list
    mapping: dict


def test_json_body_equals_asdict_also_for_nested_values() -> None:
    import dataclasses
    import json

    registry = SerializationRegistry()
    flat = Greeting("a", 1)
    nested = Outer(Inner(2), [Inner(3), 4], {"k": Inner(5)})
    for message in (flat, nested):
        assert registry.encode(message).data == json.dumps(dataclasses.asdict(message)).encode()
