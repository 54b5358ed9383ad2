"""Property tests: random input never makes the codec raise anything but its documented errors."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings, strategies as st

from pyruntime._proto import agent_worker_pb2, cloudevent_pb2
from pyruntime.wire import (
    JSON, PROTOBUF, CloudEventError, EncodedPayload, SerializationError, SerializationRegistry, WireError,
    build_cloud_event, from_cloudevents_json, read_cloud_event, set_attribute, to_cloudevents_json,
)


@dataclasses.dataclass
class Note:
    text: str
    n: int


def _registry() -> SerializationRegistry:
    registry = SerializationRegistry()
    registry.add_type(Note)
    registry.add_type(agent_worker_pb2.AgentId)
    registry.add_type(agent_worker_pb2.RpcRequest)
    return registry


type_names = st.one_of(st.sampled_from(["Note", "agents.AgentId", "agents.RpcRequest", ""]), st.text(max_size=30))
content_types = st.one_of(st.sampled_from([JSON, PROTOBUF]), st.text(max_size=20))


@settings(max_examples=300, deadline=None)
@given(type_name=type_names, content_type=content_types, data=st.binary(max_size=200))
def test_decode_random_bytes_raises_only_serialization_error(type_name: str, content_type: str, data: bytes) -> None:
    try:
        _registry().decode(EncodedPayload(type_name, content_type, data))
    except SerializationError as exc:
        assert exc.type_name == type_name and exc.content_type == content_type


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200), n=st.integers(min_value=-(2**63), max_value=2**63))
def test_dataclass_roundtrip(text: str, n: int) -> None:
    registry = _registry()
    assert registry.decode(registry.encode(Note(text, n))) == Note(text, n)


@settings(max_examples=200, deadline=None)
@given(t=st.text(max_size=50), k=st.text(max_size=50), fmt=st.sampled_from([JSON, PROTOBUF]))
def test_protobuf_roundtrip_in_both_formats(t: str, k: str, fmt: str) -> None:
    registry = _registry()
    message = agent_worker_pb2.AgentId(type=t, key=k)
    assert registry.decode(registry.encode(message, fmt)) == message


attr_names = st.from_regex(r"[a-z][a-z0-9]{0,12}", fullmatch=True).filter(
    lambda n: n not in {"id", "source", "type", "specversion", "data", "agwiretypes"}
)
attr_values = st.one_of(
    st.tuples(st.just("ce_boolean"), st.booleans()),
    st.tuples(st.just("ce_integer"), st.integers(min_value=-(2**31), max_value=2**31 - 1)),
    st.tuples(st.just("ce_string"), st.text(max_size=40)),
    st.tuples(st.just("ce_bytes"), st.binary(max_size=40)),
    st.tuples(st.just("ce_uri"), st.text(max_size=40)),
    st.tuples(st.just("ce_uri_ref"), st.text(max_size=40)),
    st.tuples(st.just("ce_timestamp"), st.integers(min_value=0, max_value=4_000_000_000)),
)


@settings(max_examples=200, deadline=None)
@given(
    attributes=st.dictionaries(attr_names, attr_values, max_size=8),
    data=st.one_of(st.none(), st.tuples(st.just("binary"), st.binary(max_size=50)), st.tuples(st.just("text"), st.text(max_size=50))),
    spec=st.sampled_from(["1.0", ""]),
    ident=st.text(max_size=20),
)
def test_cloudevents_json_roundtrip_is_lossless(attributes, data, spec: str, ident: str) -> None:
    event = cloudevent_pb2.CloudEvent(id=ident, source="s", type="T", spec_version=spec)
    for name, (kind, value) in attributes.items():
        if kind == "ce_timestamp":
            event.attributes[name].ce_timestamp.FromNanoseconds(value * 1_000_000_007 % 10**18)
        else:
            set_attribute(event, name, value, kind)
    if data is not None:
        setattr(event, f"{data[0]}_data", data[1])
    assert from_cloudevents_json(to_cloudevents_json(event)) == event


@settings(max_examples=300, deadline=None)
@given(document=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                          st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=10), st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)), max_size=6)
                          .map(lambda d: __import__("json").dumps(d).encode())))
def test_from_json_random_input_raises_only_cloudevent_error(document: bytes) -> None:
    try:
        from_cloudevents_json(document)
    except CloudEventError:
        pass


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_read_random_event_raises_only_wire_errors(raw: bytes) -> None:
    try:
        event = cloudevent_pb2.CloudEvent.FromString(raw)
    except Exception:
        return  # not a CloudEvent at the protobuf level: the gRPC layer rejects those frames
    try:
        envelope = read_cloud_event(event)
        _registry().decode(envelope.payload)
    except WireError:
        pass


@settings(max_examples=100, deadline=None)
@given(topic=st.text(max_size=20), source=st.text(max_size=20), text=st.text(max_size=50))
def test_build_then_read_recovers_routing_facts(topic: str, source: str, text: str) -> None:
    registry = _registry()
    payload = registry.encode(Note(text, 1))
    envelope = read_cloud_event(build_cloud_event(topic_type=topic, topic_source=source, payload=payload))
    assert (envelope.topic_type, envelope.topic_source, envelope.payload) == (topic, source, payload)
