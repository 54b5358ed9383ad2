"""The canonical renderings of one message: binary, protobuf JSON, CloudEvents JSON.

Canonical protobuf JSON is ``json_format.MessageToJson`` with these options (also written to the
manifest, so a consumer can see how the files were made):

- lowerCamelCase field names (``preserving_proto_field_name=False``: the proto3 JSON default);
- fields with default values and no presence are omitted (``always_print_fields_with_no_presence=False``);
- keys sorted (``sort_keys=True``, map keys included), 2-space indent, raw UTF-8 (``ensure_ascii=False``);
- one trailing newline.

CloudEvents JSON is :func:`pyruntime.wire.to_cloudevents_json` (with its ``agwiretypes`` hint),
re-indented the same way (sorted keys, 2 spaces, raw UTF-8, trailing newline).
"""

from __future__ import annotations

import json
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage

from pyruntime._proto import cloudevent_pb2
from pyruntime.wire import to_cloudevents_json

JSON_OPTIONS: Final[dict[str, Any]] = {
    "preserving_proto_field_name": False,
    "always_print_fields_with_no_presence": False,
    "sort_keys": True,
    "indent": 2,
    "ensure_ascii": False,
}


def binary_of(message: ProtoMessage) -> bytes:
    """Deterministic serialization (map entries sorted by key)."""
    return message.SerializeToString(deterministic=True)


def protobuf_json_of(message: ProtoMessage) -> bytes:
    """Canonical protobuf JSON as UTF-8 bytes (unknown fields are not representable and are left out)."""
    return (json_format.MessageToJson(message, **JSON_OPTIONS) + "\n").encode()


def stable_json(value: Any) -> bytes:
    """Any JSON value with the fixture pack's formatting."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def cloudevents_json_of(event: cloudevent_pb2.CloudEvent) -> bytes:
    """The event in the CloudEvents JSON format, with the pack's formatting."""
    return stable_json(json.loads(to_cloudevents_json(event)))


def is_cloud_event(message: ProtoMessage) -> bool:
    return message.DESCRIPTOR.full_name == cloudevent_pb2.CloudEvent.DESCRIPTOR.full_name
