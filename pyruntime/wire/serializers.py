"""One serializer per (type, content type) pair; the registry chooses among them.

A serializer turns one Python type into bytes for one content type and back. Protobuf
messages in ``application/x-protobuf`` travel as a serialized ``google.protobuf.Any``
(never the bare message), because that is what both reference runtimes put on the wire.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Protocol, runtime_checkable

from google.protobuf import any_pb2, json_format
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

from .content_types import ANY_TYPE_URL_PREFIX, JSON, PROTOBUF
from .errors import SerializationError
from .type_names import type_name_of


@runtime_checkable
class MessageSerializer(Protocol):
    """Encodes one Python type for one content type."""

    @property
    def type_name(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def python_type(self) -> type: ...

    def serialize(self, message: Any) -> bytes: ...

    def deserialize(self, data: bytes) -> Any: ...


def _decode_error(serializer: MessageSerializer, reason: str) -> SerializationError:
    return SerializationError(
        f"payload bytes do not decode: {reason}",
        type_name=serializer.type_name,
        content_type=serializer.content_type,
    )


class JsonDataclassSerializer:
    """A dataclass as ``json.dumps(asdict(obj))``: the body AutoGen's Python runtime writes."""

    content_type = JSON

    def __init__(self, cls: type) -> None:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls!r} is not a dataclass")
        self.python_type = cls
        self.type_name = type_name_of(cls)
        self._field_names = frozenset(f.name for f in dataclasses.fields(cls) if f.init)
        # Declaration order, so the body is byte-identical to json.dumps(asdict(x)).
        self._ordered_fields = tuple(f.name for f in dataclasses.fields(cls))

    def serialize(self, message: Any) -> bytes:
        # Fast path for flat dataclasses: asdict() deep-copies every value first, which costs more
        # than the JSON encoding itself. A nested dataclass makes json.dumps raise TypeError, and
        # then asdict does the conversion as AutoGen does.
        try:
            return json.dumps({name: getattr(message, name) for name in self._ordered_fields}).encode()
        except TypeError:
            return json.dumps(dataclasses.asdict(message)).encode()

    def deserialize(self, data: bytes) -> Any:
        try:
            fields = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _decode_error(self, f"not JSON ({exc})") from None
        if not isinstance(fields, dict):
            raise _decode_error(self, f"expected a JSON object, got {type(fields).__name__}")
        unknown = fields.keys() - self._field_names
        if unknown:
            raise _decode_error(self, f"unexpected fields {sorted(unknown)}")
        try:
            return self.python_type(**fields)
        except TypeError as exc:
            raise _decode_error(self, str(exc)) from None


class JsonPydanticSerializer:
    """A pydantic model as ``model_dump_json()`` (AutoGen's Python runtime accepts these too)."""

    content_type = JSON

    def __init__(self, cls: type) -> None:
        if not hasattr(cls, "model_validate_json"):
            raise TypeError(f"{cls!r} is not a pydantic model")
        self.python_type = cls
        self.type_name = type_name_of(cls)

    def serialize(self, message: Any) -> bytes:
        return message.model_dump_json().encode()

    def deserialize(self, data: bytes) -> Any:
        try:
            return self.python_type.model_validate_json(data)
        except Exception as exc:  # pydantic.ValidationError, without importing pydantic
            raise _decode_error(self, str(exc).splitlines()[0]) from None


class _ProtobufSerializer:
    """What both protobuf serializers share: the class check and the type name."""

    def __init__(self, cls: type) -> None:
        if not (isinstance(cls, type) and issubclass(cls, ProtoMessage)):
            raise TypeError(f"{cls!r} is not a protobuf message class")
        self.python_type = cls
        self.type_name = type_name_of(cls)


class ProtobufAnySerializer(_ProtobufSerializer):
    """A protobuf message packed into ``google.protobuf.Any``, serialized.

    The two ``Any`` fields are set and read directly: ``Any.Pack``/``Unpack`` are Python methods
    (four calls per message with ``Is`` and ``TypeName``) on every RPC's hot path. The rules are
    theirs: the type URL is ``type.googleapis.com/<full name>`` and, on reading, only its last
    ``/`` segment must name the expected type.
    """

    content_type = PROTOBUF

    def __init__(self, cls: type) -> None:
        super().__init__(cls)
        self._full_name: str = cls.DESCRIPTOR.full_name  # type: ignore[attr-defined]
        self._type_url = ANY_TYPE_URL_PREFIX + self._full_name

    def serialize(self, message: Any) -> bytes:
        return any_pb2.Any(type_url=self._type_url, value=message.SerializeToString()).SerializeToString()

    def deserialize(self, data: bytes) -> Any:
        try:
            packed = any_pb2.Any.FromString(data)
        except (DecodeError, ValueError) as exc:
            raise _decode_error(self, f"not a serialized google.protobuf.Any ({exc})") from None
        type_url = packed.type_url
        if "/" not in type_url or type_url.rpartition("/")[2] != self._full_name:
            raise _decode_error(self, f"Any holds {type_url!r}")
        try:
            return self.python_type.FromString(packed.value)
        except (DecodeError, ValueError) as exc:
            raise _decode_error(self, f"Any.value does not parse ({exc})") from None


class ProtobufJsonSerializer(_ProtobufSerializer):
    """A protobuf message in its canonical proto3 JSON form, for peers that only speak JSON."""

    content_type = JSON

    def serialize(self, message: Any) -> bytes:
        return json_format.MessageToJson(message, indent=None).encode()

    def deserialize(self, data: bytes) -> Any:
        try:
            return json_format.Parse(data, self.python_type())
        except (json_format.ParseError, ValueError, UnicodeDecodeError) as exc:
            raise _decode_error(self, str(exc)) from None
