"""Payload encoding for the gRPC worker: one format per runtime, overridable per message type.

``"auto"`` (the default) sends each type in its own format: protobuf messages as protobuf
(what AutoGen, in either mode, and .NET can decode), dataclasses and pydantic models as JSON.
``"json"`` also sends protobuf messages as proto3 JSON; ``"protobuf"`` is like auto.
JSON and protobuf both work for publish, RPC requests and RPC replies. A type that cannot
travel in the chosen format (a dataclass has no protobuf form) uses the one it has. A reply
uses the request's content type when the reply type supports it, so a peer that only speaks
JSON (AutoGen 0.7.5's Python worker) gets JSON back.

The hot paths write straight into the protobuf messages: a protobuf payload is packed into
``CloudEvent.proto_data`` once, never serialized to ``Any`` bytes and parsed back.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from pyruntime._proto import agent_worker_pb2
from pyruntime.wire import JSON, PROTOBUF, EncodedPayload, SerializationRegistry, type_name_of

AUTO = "auto"
PAYLOAD_FORMATS = {"auto": AUTO, "json": JSON, "protobuf": PROTOBUF, JSON: JSON, PROTOBUF: PROTOBUF}

FormatOverrides = Mapping[Union[type, str], str]


def content_type_of(payload_format: str) -> str:
    """``"json"``/``"protobuf"`` (or the content-type strings themselves) → the content type;
    ``"auto"`` stays ``"auto"``: each type in its own format (protobuf messages as protobuf)."""
    try:
        return PAYLOAD_FORMATS[payload_format]
    except KeyError:
        raise ValueError(f"unknown payload format {payload_format!r}: use 'auto', 'json' or 'protobuf'") from None


class PayloadCodec:
    """Encodes and decodes message payloads with the runtime's format choices."""

    def __init__(self, payload_format: str = AUTO, overrides: Optional[FormatOverrides] = None) -> None:
        self.default_content_type = content_type_of(payload_format)
        self._overrides: dict[Union[type, str], str] = {
            key: content_type_of(value) for key, value in (overrides or {}).items()
        }
        self.registry = SerializationRegistry()
        self._content_type_by_class: dict[type, str] = {}

    # -- registration -------------------------------------------------------------------
    def add_types(self, *classes: type) -> None:
        """Make ``classes`` decodable (every content type this project supports for each)."""
        for cls in classes:
            if cls is type(None):
                continue
            self.registry.add_type(cls)

    def content_type_for(self, cls: type) -> str:
        """The content type this runtime sends ``cls`` in (cached per class)."""
        found = self._content_type_by_class.get(cls)
        if found is None:
            wanted = self._overrides.get(cls) or self._overrides.get(type_name_of(cls)) or self.default_content_type
            if wanted == AUTO or not self.registry.supports(cls, wanted):
                wanted = self.registry.preferred_content_type(cls)
            found = wanted
            self._content_type_by_class[cls] = found
        return found

    # -- payloads (RPC) -------------------------------------------------------------------
    def encode(self, message: Any, content_type: Optional[str] = None) -> EncodedPayload:
        return self.registry.encode(message, content_type or self.content_type_for(type(message)))

    def fill_payload(self, payload: agent_worker_pb2.Payload, message: Any, content_type: Optional[str] = None) -> None:
        """Encode ``message`` straight into ``payload`` (the send path: no intermediate objects)."""
        cls = type(message)
        serializer = self.registry.serializer_for(cls, content_type or self.content_type_for(cls))
        payload.data_type = serializer.type_name
        payload.data_content_type = serializer.content_type
        payload.data = serializer.serialize(message)

    def fill_reply(self, payload: agent_worker_pb2.Payload, reply: Any, request_content_type: str) -> None:
        """Encode an RPC reply into ``payload``: in the request's content type when the reply's class
        has that form (a caller gets back what it sent), else in this runtime's choice for the class."""
        cls = type(reply)
        registry = self.registry
        content_type = request_content_type if request_content_type and registry.supports(cls, request_content_type) \
            else self.content_type_for(cls)
        serializer = registry.serializer_for(cls, content_type)
        payload.data_type = serializer.type_name
        payload.data_content_type = serializer.content_type
        payload.data = serializer.serialize(reply)
