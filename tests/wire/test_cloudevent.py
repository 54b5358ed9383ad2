from __future__ import annotations

import pytest

from pyruntime._proto import agent_worker_pb2, cloudevent_pb2
from pyruntime.wire import (
    ANONYMOUS_SENDER, JSON, PROTOBUF, AgentRef, CloudEventError, EncodedPayload, SerializationRegistry,
    build_cloud_event, read_cloud_event,
)

JSON_PAYLOAD = EncodedPayload("Greeting", JSON, b'{"text": "hi"}')


def _attrs(event) -> dict[str, str]:
    return {k: v.ce_string for k, v in event.attributes.items()}


def test_python_style_event_matches_the_python_producer() -> None:
    event = build_cloud_event(topic_type="T", topic_source="s", payload=JSON_PAYLOAD, message_id="m")
    assert (event.id, event.type, event.source, event.spec_version) == ("m", "T", "s", "1.0")
    assert _attrs(event) == {
        "datacontenttype": JSON, "dataschema": "Greeting",
        "agagentsendertype": "unknown", "agagentsenderkey": "unknown", "agmsgkind": "publish",
    }
    assert event.WhichOneof("data") == "binary_data"


def test_dotnet_style_event_has_no_spec_version_and_no_anonymous_sender() -> None:
    payload = SerializationRegistry().encode(agent_worker_pb2.AgentId(type="a", key="b"))
    event = build_cloud_event(topic_type="T", topic_source="s", payload=payload, style="dotnet")
    assert event.spec_version == ""
    assert "agagentsendertype" not in event.attributes
    assert event.WhichOneof("data") == "proto_data"
    assert event.proto_data.type_url == "type.googleapis.com/agents.AgentId"


@pytest.mark.parametrize("variant", ["binary", "text"])
def test_reader_accepts_json_in_binary_and_text(variant: str) -> None:
    event = build_cloud_event(topic_type="T", topic_source="s", payload=JSON_PAYLOAD, sender=AgentRef("A", "k"))
    if variant == "text":
        event.text_data = JSON_PAYLOAD.data.decode()
    envelope = read_cloud_event(event)
    assert envelope.payload == JSON_PAYLOAD
    assert envelope.sender == AgentRef("A", "k")
    assert envelope.message_kind == "publish"


def test_reader_accepts_dotnet_event_without_attributes_it_can_infer() -> None:
    registry = SerializationRegistry()
    registry.add_type(agent_worker_pb2.AgentId)
    message = agent_worker_pb2.AgentId(type="a", key="b")
    event = cloudevent_pb2.CloudEvent(id="1", type="T", source="s")
    event.proto_data.Pack(message)
    envelope = read_cloud_event(event)
    assert envelope.spec_version == "" and envelope.sender is None
    assert envelope.payload.type_name == "agents.AgentId" and envelope.payload.content_type == PROTOBUF
    assert registry.decode(envelope.payload) == message


def test_anonymous_sender_is_reported_as_sent() -> None:
    envelope = read_cloud_event(build_cloud_event(topic_type="T", topic_source="s", payload=JSON_PAYLOAD))
    assert envelope.sender == ANONYMOUS_SENDER


@pytest.mark.parametrize("missing", ["datacontenttype", "dataschema"])
def test_json_event_without_required_attribute_is_rejected(missing: str) -> None:
    event = build_cloud_event(topic_type="T", topic_source="s", payload=JSON_PAYLOAD)
    del event.attributes[missing]
    with pytest.raises(CloudEventError, match=missing):
        read_cloud_event(event)


def test_attribute_of_wrong_kind_is_rejected() -> None:
    event = build_cloud_event(topic_type="T", topic_source="s", payload=JSON_PAYLOAD)
    event.attributes["dataschema"].ce_integer = 3
    with pytest.raises(CloudEventError, match="must be a string"):
        read_cloud_event(event)


def test_decode_event_data_unpacks_proto_data_and_reports_mismatches() -> None:
    from pyruntime.wire import SerializationError, decode_event_data, event_payload_type

    registry = SerializationRegistry()
    registry.add_type(agent_worker_pb2.AgentId)
    message = agent_worker_pb2.AgentId(type="a", key="b")
    event = cloudevent_pb2.CloudEvent(id="1", type="T", source="s")
    event.proto_data.Pack(message)
    type_name, content_type = event_payload_type(event)
    assert decode_event_data(registry, event, type_name, content_type) == message
    with pytest.raises(SerializationError, match="holds"):
        registry.add_type(agent_worker_pb2.Payload)
        decode_event_data(registry, event, "agents.Payload", PROTOBUF)
    json_event = build_cloud_event(topic_type="T", topic_source="s", payload=JSON_PAYLOAD)
    with pytest.raises(SerializationError, match="unknown payload type"):
        decode_event_data(registry, json_event, *event_payload_type(json_event))
