"""Build and read the protobuf CloudEvents that carry AutoGen publishes.

The builder writes what AutoGen's producers write (``style="python"`` by default, or
``style="dotnet"``, see wire-behaviors.md 2.7). The reader accepts everything either
producer emits (2.8, 2.11): JSON in ``binary_data`` or ``text_data``, protobuf in
``proto_data``, ``spec_version`` "1.0" or empty, sender attributes present or absent,
and a missing ``dataschema``/``datacontenttype`` where the data itself says what it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final, Literal

from google.protobuf.message import DecodeError

from pyruntime._proto import cloudevent_pb2

from .content_types import ANY_TYPE_URL_PREFIX, JSON, PROTOBUF
from .errors import CloudEventError, SerializationError
from .registry import EncodedPayload, SerializationRegistry

if TYPE_CHECKING:
    from pyruntime.model import AgentId

CloudEvent = cloudevent_pb2.CloudEvent
AttributeValue = cloudevent_pb2.CloudEvent.CloudEventAttributeValue

# AutoGen's attribute names (all ce_string on the wire).
DATA_CONTENT_TYPE: Final = "datacontenttype"
DATA_SCHEMA: Final = "dataschema"
SENDER_TYPE: Final = "agagentsendertype"
SENDER_KEY: Final = "agagentsenderkey"
MESSAGE_KIND: Final = "agmsgkind"
SPEC_VERSION: Final = "1.0"
PUBLISH: Final = "publish"

ProducerStyle = Literal["python", "dotnet"]


@dataclass(frozen=True, slots=True)
class AgentRef:
    """An agent id as it appears on the wire, not validated (peers differ on what is legal)."""

    type: str
    key: str

    def __str__(self) -> str:
        return f"{self.type}/{self.key}"


# What the Python producer writes when a publish has no sender.
ANONYMOUS_SENDER: Final = AgentRef("unknown", "unknown")


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """A received event: routing facts plus its still-encoded payload."""

    id: str
    topic_type: str
    topic_source: str
    payload: EncodedPayload
    sender: AgentRef | None
    message_kind: str | None
    spec_version: str
    raw: CloudEvent

    def attributes(self) -> dict[str, Any]:
        """Every attribute as a Python value (decoded on demand: the hot path does not need it)."""
        return {name: attribute_value(value) for name, value in self.raw.attributes.items()}


def attribute_value(value: AttributeValue) -> Any:
    """The Python value of one attribute (timestamps as aware datetimes)."""
    kind = value.WhichOneof("attr")
    if kind is None:
        return None
    if kind == "ce_timestamp":
        return value.ce_timestamp.ToDatetime(tzinfo=timezone.utc)
    return getattr(value, kind)


_STRING_KINDS: Final = ("ce_string", "ce_uri", "ce_uri_ref")


def _string_value(attributes: Any, name: str) -> str | None:
    # Takes the attribute map, not the event: every ``event.attributes`` access builds a new map view.
    if name not in attributes:
        return None
    value = attributes[name]
    text: str = value.ce_string
    if text:
        return text  # what every AutoGen producer writes: no oneof inspection needed
    kind = value.WhichOneof("attr")
    if kind in _STRING_KINDS:
        return getattr(value, kind)  # type: ignore[no-any-return]
    raise CloudEventError(f"attribute {name!r} must be a string, got {kind or 'no value'}")


def string_attribute(event: CloudEvent, name: str) -> str | None:
    """A string-like attribute (ce_string, ce_uri or ce_uri_ref), or None when absent."""
    return _string_value(event.attributes, name)


def write_event_attributes(
    event: CloudEvent,
    *,
    type_name: str,
    content_type: str,
    sender: "AgentRef | AgentId | None" = None,
    style: ProducerStyle = "python",
) -> None:
    """Set ``spec_version`` and AutoGen's attributes as the chosen producer writes them (no id, topic or data)."""
    event.spec_version = SPEC_VERSION if style == "python" else ""
    attrs = event.attributes
    attrs[DATA_CONTENT_TYPE].ce_string = content_type
    attrs[DATA_SCHEMA].ce_string = type_name
    if sender is None and style == "python":
        sender = ANONYMOUS_SENDER
    if sender is not None:
        attrs[SENDER_TYPE].ce_string = sender.type
        attrs[SENDER_KEY].ce_string = sender.key
    attrs[MESSAGE_KIND].ce_string = PUBLISH


def build_cloud_event(
    *,
    topic_type: str,
    topic_source: str,
    payload: EncodedPayload,
    sender: "AgentRef | AgentId | None" = None,
    message_id: str | None = None,
    style: ProducerStyle = "python",
) -> CloudEvent:
    """A CloudEvent as AutoGen's Python (default) or .NET producer would write it."""
    event = CloudEvent(id=message_id or str(uuid.uuid4()), source=topic_source, type=topic_type)
    write_event_attributes(event, type_name=payload.type_name, content_type=payload.content_type, sender=sender, style=style)
    if payload.content_type == PROTOBUF:
        try:
            event.proto_data.ParseFromString(payload.data)
        except DecodeError as exc:
            raise CloudEventError(f"protobuf payload of type {payload.type_name!r} is not a serialized Any: {exc}") from None
    else:
        event.binary_data = payload.data
    return event


def event_payload_type(event: CloudEvent) -> tuple[str, str]:
    """The (type name, content type) of an event's data; :class:`CloudEventError` when they cannot be known.

    Protobuf data (``proto_data``) names its own type in the Any, so the .NET producer's missing
    or ignored attributes do not matter there; JSON needs both attributes.
    """
    attributes = event.attributes
    type_name = _string_value(attributes, DATA_SCHEMA)
    if event.WhichOneof("data") == "proto_data":
        if not type_name:
            type_url = event.proto_data.type_url
            type_name = type_url[len(ANY_TYPE_URL_PREFIX):] if type_url.startswith(ANY_TYPE_URL_PREFIX) else type_url.rpartition("/")[2]
        content_type: str | None = PROTOBUF
    else:
        content_type = _string_value(attributes, DATA_CONTENT_TYPE)
    if not content_type:
        raise CloudEventError(
            f"event {event.id!r} on topic {event.type!r} has no {DATA_CONTENT_TYPE} attribute; set it to {JSON!r} or {PROTOBUF!r}"
        )
    if not type_name:
        raise CloudEventError(f"event {event.id!r} on topic {event.type!r} has no {DATA_SCHEMA} attribute naming the payload type")
    return type_name, content_type


def event_sender(event: CloudEvent) -> AgentRef | None:
    """The sender attributes as written (``unknown/unknown`` included), or None when absent."""
    attributes = event.attributes
    sender_type = _string_value(attributes, SENDER_TYPE)
    sender_key = _string_value(attributes, SENDER_KEY)
    return AgentRef(sender_type, sender_key) if sender_type is not None and sender_key is not None else None


def event_data_bytes(event: CloudEvent) -> bytes:
    """The event's data as payload bytes (protobuf data as a serialized Any)."""
    kind = event.WhichOneof("data")
    if kind == "proto_data":
        return event.proto_data.SerializeToString()
    if kind == "binary_data":
        return event.binary_data
    if kind == "text_data":
        return event.text_data.encode()
    return b""


def decode_event_data(registry: SerializationRegistry, event: CloudEvent, type_name: str, content_type: str) -> Any:
    """Decode an event's data; protobuf data is unpacked from ``proto_data`` directly (no re-serialization)."""
    if event.WhichOneof("data") == "proto_data":
        cls = registry.python_type(type_name, PROTOBUF)
        if cls is None:
            raise SerializationError(
                "unknown payload type: register it with the runtime (add_type)", type_name=type_name, content_type=PROTOBUF
            )
        # Any.Unpack's rule (the last "/" segment of the type URL names the type), without its
        # three Python calls per event.
        packed = event.proto_data
        type_url = packed.type_url
        if "/" not in type_url or type_url.rpartition("/")[2] != cls.DESCRIPTOR.full_name:
            raise SerializationError(f"proto_data holds {type_url!r}", type_name=type_name, content_type=PROTOBUF)
        try:
            return cls.FromString(packed.value)
        except (DecodeError, ValueError) as exc:
            raise SerializationError(f"proto_data does not parse ({exc})", type_name=type_name, content_type=PROTOBUF) from None
    return registry.decode_data(type_name, content_type, event_data_bytes(event))


def read_cloud_event(event: CloudEvent) -> EventEnvelope:
    """Extract routing facts and the encoded payload; raise :class:`CloudEventError` if AutoGen could not use it."""
    type_name, content_type = event_payload_type(event)
    return EventEnvelope(
        id=event.id,
        topic_type=event.type,
        topic_source=event.source,
        payload=EncodedPayload(type_name, content_type, event_data_bytes(event)),
        sender=event_sender(event),
        message_kind=string_attribute(event, MESSAGE_KIND),
        spec_version=event.spec_version,
        raw=event,
    )


def set_attribute(event: CloudEvent, name: str, value: Any, kind: str | None = None) -> None:
    """Set one attribute from a Python value; ``kind`` forces ce_uri/ce_uri_ref/ce_bytes/... when ambiguous."""
    slot = event.attributes[name]
    if kind is None:
        if isinstance(value, bool):
            kind = "ce_boolean"
        elif isinstance(value, int):
            kind = "ce_integer"
        elif isinstance(value, (bytes, bytearray)):
            kind = "ce_bytes"
        elif isinstance(value, datetime):
            kind = "ce_timestamp"
        else:
            kind = "ce_string"
    if kind == "ce_timestamp":
        if isinstance(value, datetime):
            slot.ce_timestamp.FromDatetime(value)
        else:
            slot.ce_timestamp.FromJsonString(str(value))
    elif kind == "ce_integer":
        if not -(2**31) <= int(value) < 2**31:
            raise CloudEventError(f"attribute {name!r}: {value} does not fit a CloudEvents Integer (int32)")
        slot.ce_integer = int(value)
    else:
        setattr(slot, kind, value)
