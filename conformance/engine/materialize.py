"""Turn scenario message templates into protobuf JSON: placeholders, ``$``-helpers, captured values.

Placeholders in strings: ``${ns}``, ``${client:PEER}``, ``${format}``, ``${content_type}``.
Helpers: ``$payload``, ``$event``, ``$bytes``, ``$ref`` (see scenario.schema.json, "message").
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import any_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import Message as ProtoMessage

from conformance.engine.errors import StepFailure
from conformance.engine.matchers import MATCHER_KEYS, Captures
from google.protobuf import struct_pb2, timestamp_pb2, wrappers_pb2  # noqa: F401  (register well-known types)
from pyruntime._proto import agent_worker_pb2, cloudevent_pb2  # noqa: F401  (register the agents.* types)

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
CONTENT_TYPES = {"json": JSON, "protobuf": PROTOBUF}

_PLACEHOLDER = re.compile(r"\$\{([a-z_]+)(?::([A-Za-z0-9_-]+))?\}")


@dataclass
class Bindings:
    """What placeholders resolve to during one run of one case."""

    ns: str
    client_ids: Mapping[str, str | None]
    captures: Captures = field(default_factory=Captures)


def substitute_format(value: Any, fmt: str) -> Any:
    """Replace ${format} / ${content_type} (template expansion at load time)."""
    if isinstance(value, str):
        return value.replace("${format}", fmt).replace("${content_type}", CONTENT_TYPES[fmt])
    if isinstance(value, list):
        return [substitute_format(v, fmt) for v in value]
    if isinstance(value, dict):
        return {substitute_format(k, fmt): substitute_format(v, fmt) for k, v in value.items()}
    return value


def _text(value: str, bindings: Bindings) -> str:
    def replace(found: re.Match[str]) -> str:
        name, arg = found.group(1), found.group(2)
        if name == "ns" and arg is None:
            return bindings.ns
        if name == "client" and arg is not None:
            client = bindings.client_ids.get(arg)
            if client is None:
                raise StepFailure(f"${{client:{arg}}}: no peer {arg!r} with a client-id in this scenario")
            return client
        raise StepFailure(f"unknown placeholder {found.group(0)!r}")

    return _PLACEHOLDER.sub(replace, value)


def resolve(value: Any, bindings: Bindings) -> Any:
    """Resolve placeholders and helpers; matcher objects keep their keys (their arguments are resolved)."""
    if isinstance(value, str):
        return _text(value, bindings)
    if isinstance(value, list):
        return [resolve(v, bindings) for v in value]
    if not isinstance(value, dict):
        return value
    if "$payload" in value:
        return payload_json(resolve(value["$payload"], bindings))
    if "$event" in value:
        return event_json(resolve(value["$event"], bindings))
    if "$bytes" in value:
        return bytes_b64(resolve(value["$bytes"], bindings))
    if "$ref" in value:
        try:
            return bindings.captures.lookup(_text(str(value["$ref"]), bindings))
        except KeyError as error:
            raise StepFailure(str(error.args[0])) from None
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("$regex", "$capture", "$same_as"):
            out[key] = _text(item, bindings) if isinstance(item, str) else item
        else:
            out[key if key in MATCHER_KEYS else _text(key, bindings)] = resolve(item, bindings)
    return out


def bytes_b64(spec: Mapping[str, Any]) -> str:
    """``$bytes``: {text|base64|hex: str, repeat: n} -> base64 text (protobuf JSON for bytes)."""
    if "text" in spec:
        raw = str(spec["text"]).encode()
    elif "base64" in spec:
        raw = base64.b64decode(spec["base64"])
    elif "hex" in spec:
        raw = bytes.fromhex(spec["hex"])
    else:
        raise StepFailure("$bytes needs one of text, base64 or hex")
    raw *= int(spec.get("repeat", 1))
    return base64.b64encode(raw).decode()


def proto_message(type_name: str, fields: Any) -> ProtoMessage:
    """Build the protobuf message ``type_name`` (a full name known to this process) from JSON fields."""
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(type_name)
    except KeyError:
        raise StepFailure(f"unknown protobuf type {type_name!r} in $payload (use an agents.* or google.protobuf.* type)") from None
    message = message_factory.GetMessageClass(descriptor)()
    try:
        json_format.ParseDict({} if fields is None else fields, message)
    except json_format.ParseError as error:
        raise StepFailure(f"$payload fields are not valid protobuf JSON for {type_name}: {error}") from None
    return message


def _payload_bytes(spec: Mapping[str, Any]) -> tuple[str, str, bytes]:
    fmt = spec.get("format", "json")
    type_name = spec["type"]
    fields = spec.get("fields", {})
    if fmt == "json":
        return type_name, JSON, json.dumps(fields).encode()
    if fmt == "protobuf":
        packed = any_pb2.Any()
        packed.Pack(proto_message(type_name, fields))
        return type_name, PROTOBUF, packed.SerializeToString()
    raise StepFailure(f"$payload format must be json or protobuf, not {fmt!r}")


def payload_json(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``$payload`` -> agents.Payload as protobuf JSON."""
    type_name, content_type, data = _payload_bytes(spec)
    return {"dataType": type_name, "dataContentType": content_type, "data": base64.b64encode(data).decode()}


def event_json(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``$event`` -> io.cloudevents.v1.CloudEvent as a Python worker publishes it (protobuf JSON)."""
    payload = spec.get("payload", {"format": "json", "type": "Empty", "fields": {}})
    type_name, content_type, data = _payload_bytes(payload)
    attributes: dict[str, Any] = {
        "datacontenttype": {"ceString": content_type},
        "dataschema": {"ceString": type_name},
        "agmsgkind": {"ceString": "publish"},
    }
    sender = spec.get("sender")
    if sender is not None:
        attributes["agagentsendertype"] = {"ceString": sender["type"]}
        attributes["agagentsenderkey"] = {"ceString": sender["key"]}
    for name, text in dict(spec.get("attributes", {})).items():
        attributes[name] = {"ceString": text}
    event: dict[str, Any] = {
        "id": spec.get("id") or str(uuid.uuid4()),
        "source": spec["topic_source"],
        "type": spec["topic_type"],
        "attributes": attributes,
    }
    spec_version = spec.get("spec_version", "1.0")
    if spec_version:
        event["specVersion"] = spec_version
    if content_type == PROTOBUF:
        packed = any_pb2.Any()
        packed.ParseFromString(data)
        event["protoData"] = json_format.MessageToDict(packed)
    else:
        event["binaryData"] = base64.b64encode(data).decode()
    return event


def to_proto(message_json: Mapping[str, Any], message_type: type[ProtoMessage]) -> ProtoMessage:
    """Parse protobuf JSON into ``message_type``; a scenario error becomes a StepFailure."""
    try:
        return json_format.ParseDict(dict(message_json), message_type())
    except json_format.ParseError as error:
        raise StepFailure(f"the scenario's {message_type.DESCRIPTOR.name} is not valid protobuf JSON: {error}") from None


def to_json(message: ProtoMessage) -> dict[str, Any]:
    """Protobuf JSON (camelCase names) of an observed message."""
    return json_format.MessageToDict(message)
