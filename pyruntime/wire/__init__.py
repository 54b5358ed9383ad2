"""The wire codec: payload serialization, CloudEvents, subscriptions. No networking here.

Modules, one job each:
    content_types     JSON / PROTOBUF content-type strings
    type_names        AutoGen type names for payloads
    serializers       one serializer per (type, content type)
    registry          SerializationRegistry and EncodedPayload
    cloudevent        build_cloud_event / read_cloud_event with AutoGen's attributes
    cloudevents_json  protobuf CloudEvent <-> CloudEvents JSON format (cloudevents SDK)
    subscriptions     model <-> protobuf subscriptions and agent ids
    errors            the codec's exception tree
"""

from .cloudevent import (
    ANONYMOUS_SENDER,
    DATA_CONTENT_TYPE,
    DATA_SCHEMA,
    MESSAGE_KIND,
    SENDER_KEY,
    SENDER_TYPE,
    AgentRef,
    EventEnvelope,
    attribute_value,
    build_cloud_event,
    decode_event_data,
    event_data_bytes,
    event_payload_type,
    event_sender,
    read_cloud_event,
    set_attribute,
    write_event_attributes,
)
from .cloudevents_json import TYPE_HINT_ATTRIBUTE, from_cloudevents_json, to_cloudevents_json
from .content_types import JSON, PROTOBUF
from .errors import CloudEventError, InvalidSubscriptionError, SerializationError, WireError
from .registry import EncodedPayload, SerializationRegistry, serializers_for
from .serializers import (
    JsonDataclassSerializer,
    JsonPydanticSerializer,
    MessageSerializer,
    ProtobufAnySerializer,
    ProtobufJsonSerializer,
)
from .subscriptions import agent_id_to_proto, agent_ref_from_proto, subscription_from_proto, subscription_to_proto
from .type_names import any_type_url, type_name_of

__all__ = [
    "ANONYMOUS_SENDER", "DATA_CONTENT_TYPE", "DATA_SCHEMA", "MESSAGE_KIND", "SENDER_KEY", "SENDER_TYPE",
    "TYPE_HINT_ATTRIBUTE", "JSON", "PROTOBUF",
    "AgentRef", "EventEnvelope", "EncodedPayload", "SerializationRegistry", "MessageSerializer",
    "JsonDataclassSerializer", "JsonPydanticSerializer", "ProtobufAnySerializer", "ProtobufJsonSerializer",
    "WireError", "SerializationError", "CloudEventError", "InvalidSubscriptionError",
    "attribute_value", "build_cloud_event", "read_cloud_event", "set_attribute", "write_event_attributes",
    "event_payload_type", "event_sender", "event_data_bytes", "decode_event_data",
    "to_cloudevents_json", "from_cloudevents_json",
    "subscription_to_proto", "subscription_from_proto", "agent_id_to_proto", "agent_ref_from_proto",
    "serializers_for", "type_name_of", "any_type_url",
]
