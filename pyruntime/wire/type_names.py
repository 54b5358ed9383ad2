"""Type names as AutoGen forms them for ``Payload.data_type`` and the ``dataschema`` attribute.

A protobuf message is named by its descriptor's full name (``agents.AgentId``); any other
class (dataclass, pydantic model) by its bare ``__name__``, without the module. Both the
Python and .NET runtimes agree on the protobuf form, which is what makes cross-language
publish work.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message as ProtoMessage

from .content_types import ANY_TYPE_URL_PREFIX


def is_protobuf_class(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, ProtoMessage)


def type_name_of(obj_or_cls: Any) -> str:
    """The AutoGen type name of a class or an instance."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    if is_protobuf_class(cls):
        return str(cls.DESCRIPTOR.full_name)
    return cls.__name__


def any_type_url(full_name: str) -> str:
    """The ``google.protobuf.Any.type_url`` for a protobuf full name."""
    return ANY_TYPE_URL_PREFIX + full_name
