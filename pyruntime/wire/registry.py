"""The payload serialization registry: which serializer handles a (type name, content type).

Lookups are by the pair, as in AutoGen's Python runtime, so one type can travel as JSON to
one peer and as protobuf to another. ``encode`` picks a type's preferred content type when
none is asked for: protobuf for protobuf messages, JSON for everything else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable

from pyruntime._proto import agent_worker_pb2

from .content_types import JSON, PROTOBUF
from .errors import SerializationError
from .serializers import (
    JsonDataclassSerializer,
    JsonPydanticSerializer,
    MessageSerializer,
    ProtobufAnySerializer,
    ProtobufJsonSerializer,
)
from .type_names import is_protobuf_class, type_name_of


@dataclass(frozen=True, slots=True)
class EncodedPayload:
    """A payload as it travels: its type name, content type and bytes.

    For ``application/x-protobuf`` the bytes are a serialized ``google.protobuf.Any``.
    """

    type_name: str
    content_type: str
    data: bytes

    def to_proto(self) -> agent_worker_pb2.Payload:
        return agent_worker_pb2.Payload(data_type=self.type_name, data_content_type=self.content_type, data=self.data)

    @classmethod
    def from_proto(cls, payload: agent_worker_pb2.Payload) -> "EncodedPayload":
        return cls(payload.data_type, payload.data_content_type, payload.data)


def serializers_for(cls: type, content_types: Iterable[str] | None = None) -> list[MessageSerializer]:
    """The serializers this project provides for ``cls``, preferred first."""
    if is_protobuf_class(cls):
        available: list[MessageSerializer] = [ProtobufAnySerializer(cls), ProtobufJsonSerializer(cls)]
    elif dataclasses.is_dataclass(cls):
        available = [JsonDataclassSerializer(cls)]
    elif hasattr(cls, "model_validate_json") and hasattr(cls, "model_dump_json"):
        available = [JsonPydanticSerializer(cls)]
    else:
        raise SerializationError(
            "no serializer for this class: use a dataclass, a pydantic model or a protobuf message",
            type_name=type_name_of(cls),
            content_type=",".join(content_types or ()) or "any",
        )
    if content_types is not None:
        wanted = list(content_types)
        available = [s for s in available if s.content_type in wanted]
        available.sort(key=lambda s: wanted.index(s.content_type))
    return available


class SerializationRegistry:
    """Serializers keyed by (type name, content type), plus each Python type's preferred content type."""

    def __init__(self) -> None:
        self._by_name: dict[tuple[str, str], MessageSerializer] = {}
        self._by_class: dict[tuple[type, str], MessageSerializer] = {}
        self._preferred: dict[type, str] = {}

    def add_serializer(self, serializer: MessageSerializer, *, preferred: bool = False) -> None:
        """Register one serializer; the first one added for a class is its preferred one."""
        self._by_name[(serializer.type_name, serializer.content_type)] = serializer
        self._by_class[(serializer.python_type, serializer.content_type)] = serializer
        if preferred or serializer.python_type not in self._preferred:
            self._preferred[serializer.python_type] = serializer.content_type

    def add_type(self, cls: type, *, content_types: Iterable[str] | None = None) -> None:
        """Register every serializer this project has for ``cls`` (optionally only some content types)."""
        for serializer in serializers_for(cls, content_types):
            self.add_serializer(serializer)

    def set_preferred(self, cls: type, content_type: str) -> None:
        """Choose which content type ``encode`` uses for ``cls`` when the caller does not say."""
        if (cls, content_type) not in self._by_class:
            self.add_type(cls, content_types=[content_type])
        self._preferred[cls] = content_type

    def knows(self, type_name: str, content_type: str) -> bool:
        return (type_name, content_type) in self._by_name

    def python_type(self, type_name: str, content_type: str) -> type | None:
        serializer = self._by_name.get((type_name, content_type))
        return serializer.python_type if serializer else None

    def known_pairs(self) -> list[tuple[str, str]]:
        return sorted(self._by_name)

    def preferred_content_type(self, cls: type) -> str:
        preferred = self._preferred.get(cls)
        if preferred is None:
            self.add_type(cls)
            preferred = self._preferred[cls]
        return preferred

    def supports(self, cls: type, content_type: str) -> bool:
        """Whether ``cls`` can be encoded as ``content_type`` (registering it on first use)."""
        if (cls, content_type) in self._by_class:
            return True
        try:
            return any(s.content_type == content_type for s in serializers_for(cls))
        except SerializationError:
            return False

    def encode(self, message: Any, content_type: str | None = None) -> EncodedPayload:
        """Serialize ``message``; an unregistered dataclass/pydantic/protobuf class is registered on first use."""
        cls = type(message)
        if content_type is None:
            content_type = self.preferred_content_type(cls)
        serializer = self.serializer_for(cls, content_type)
        return EncodedPayload(serializer.type_name, content_type, serializer.serialize(message))

    def serializer_for(self, cls: type, content_type: str) -> MessageSerializer:
        """The serializer that encodes ``cls`` as ``content_type`` (registered on first use)."""
        serializer = self._by_class.get((cls, content_type))
        if serializer is None:
            for candidate in serializers_for(cls, [content_type]):
                self.add_serializer(candidate)
            serializer = self._by_class.get((cls, content_type))
            if serializer is None:
                raise SerializationError(
                    f"this class cannot be encoded as {content_type}", type_name=type_name_of(cls), content_type=content_type
                )
        return serializer

    def decode(self, payload: EncodedPayload) -> Any:
        """Deserialize a payload; unknown pairs and undecodable bytes raise :class:`SerializationError`."""
        return self.decode_data(payload.type_name, payload.content_type, payload.data)

    def decode_data(self, type_name: str, content_type: str, data: bytes) -> Any:
        """``decode`` for the parts of a payload (the receive path, without building an ``EncodedPayload``)."""
        serializer = self._by_name.get((type_name, content_type))
        if serializer is None:
            raise SerializationError(
                "unknown payload type: register it with the runtime (add_type) or send a type the receiver knows",
                type_name=type_name,
                content_type=content_type,
            )
        return serializer.deserialize(data)

    def to_payload(self, message: Any, content_type: str | None = None) -> agent_worker_pb2.Payload:
        return self.encode(message, content_type).to_proto()

    def from_payload(self, payload: agent_worker_pb2.Payload) -> Any:
        return self.decode(EncodedPayload.from_proto(payload))


__all__ = ["EncodedPayload", "SerializationRegistry", "serializers_for", "JSON", "PROTOBUF"]
