from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from pyruntime._proto import agent_worker_pb2, cloudevent_pb2
from pyruntime.wire import (
    TYPE_HINT_ATTRIBUTE, CloudEventError, EncodedPayload, JSON, build_cloud_event, from_cloudevents_json,
    set_attribute, to_cloudevents_json,
)


def _event_with_every_attribute_type(data_variant: str) -> cloudevent_pb2.CloudEvent:
    event = build_cloud_event(topic_type="T", topic_source="s", payload=EncodedPayload("G", JSON, b'{"a": 1}'), message_id="id-1")
    set_attribute(event, "flag", True)
    set_attribute(event, "count", -2**31)
    set_attribute(event, "label", "ünïcode ✓")
    set_attribute(event, "blob", b"\x00\xff\x10")
    set_attribute(event, "home", "https://example.com/x?y=1", "ce_uri")
    set_attribute(event, "rel", "../a#b", "ce_uri_ref")
    set_attribute(event, "stamp", "2024-05-06T07:08:09.123456789Z", "ce_timestamp")
    set_attribute(event, "time", datetime(2024, 5, 6, 7, 8, 9, 654321, tzinfo=timezone.utc))
    if data_variant == "text":
        event.text_data = '{"a": 1}'
    elif data_variant == "proto":
        event.proto_data.Pack(agent_worker_pb2.AgentId(type="x", key="y"))
    return event


@pytest.mark.parametrize("data_variant", ["binary", "text", "proto"])
def test_roundtrip_preserves_every_attribute_type_and_data_variant(data_variant: str) -> None:
    event = _event_with_every_attribute_type(data_variant)
    document = to_cloudevents_json(event)
    parsed = json.loads(document)
    assert parsed["specversion"] == "1.0" and parsed["id"] == "id-1"
    assert parsed["flag"] is True and parsed["count"] == -2**31
    back = from_cloudevents_json(document)
    assert back == event
    assert {k: v.WhichOneof("attr") for k, v in back.attributes.items()} == {
        k: v.WhichOneof("attr") for k, v in event.attributes.items()
    }


def test_empty_spec_version_is_kept() -> None:
    event = cloudevent_pb2.CloudEvent(id="1", type="T", source="s")
    assert from_cloudevents_json(to_cloudevents_json(event)).spec_version == ""


def test_foreign_json_without_hints_reads_by_json_types() -> None:
    document = json.dumps({
        "specversion": "1.0", "id": "x", "source": "s", "type": "T", "datacontenttype": "application/json",
        "n": 3, "ok": False, "time": "2024-01-01T00:00:00Z", "data": {"k": [1, 2]},
    })
    event = from_cloudevents_json(document)
    kinds = {k: v.WhichOneof("attr") for k, v in event.attributes.items()}
    assert kinds == {"datacontenttype": "ce_string", "n": "ce_integer", "ok": "ce_boolean", "time": "ce_timestamp"}
    assert json.loads(event.binary_data) == {"k": [1, 2]}


@pytest.mark.parametrize(
    "document",
    [b"not json", b"[]", b'{"id": 5, "source": "s", "type": "t", "specversion": "1.0"}',
     json.dumps({"id": "1", "source": "s", "type": "t", "x": {"nested": 1}}).encode(),
     json.dumps({"id": "1", "source": "s", "type": "t", TYPE_HINT_ATTRIBUTE: "x=weird"}).encode(),
     json.dumps({"id": "1", "source": "s", "type": "t", "n": 2**40}).encode()],
    ids=["garbage", "array", "bad-id", "nested-attr", "bad-hint", "int-overflow"],
)
def test_invalid_documents_raise_cloudevent_error(document: bytes) -> None:
    with pytest.raises(CloudEventError):
        from_cloudevents_json(document)
