"""Deterministic, fully populated instances of every message type in both contracts.

Every field gets a value; every oneof member gets its own variant, so a round-trip over
the samples touches every field number of every message.
"""

from __future__ import annotations

from typing import Iterator

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from pyruntime._proto import agent_worker_pb2, cloudevent_pb2

MODULES = (agent_worker_pb2, cloudevent_pb2)


def all_message_descriptors() -> list[Descriptor]:
    found: list[Descriptor] = []

    def walk(descriptor: Descriptor) -> None:
        if descriptor.GetOptions().map_entry:
            return
        found.append(descriptor)
        for nested in descriptor.nested_types:
            walk(nested)

    for module in MODULES:
        for descriptor in module.DESCRIPTOR.message_types_by_name.values():
            walk(descriptor)
    return found


def _scalar(field: FieldDescriptor, salt: int):
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return f"{field.name}-{salt}-é✓"
    if t == FieldDescriptor.TYPE_BYTES:
        return bytes([salt % 256, 0, 255]) + field.name.encode()
    if t == FieldDescriptor.TYPE_BOOL:
        return True
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT32):
        return -(salt + 7)
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64):
        return salt + 7
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return 1.5
    if t == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values[-1].number
    raise AssertionError(f"unhandled field type {t} for {field.full_name}")


def fill(message: Message, depth: int = 0, choose: dict[str, str] | None = None) -> Message:
    """Set every field (first oneof member unless ``choose`` maps oneof name -> member)."""
    descriptor = message.DESCRIPTOR
    for index, field in enumerate(descriptor.fields):
        oneof = field.containing_oneof
        if oneof is not None and not (len(oneof.fields) == 1 and field.has_presence and oneof.name.startswith("_")):
            wanted = (choose or {}).get(oneof.name, oneof.fields[0].name)
            if field.name != wanted:
                continue
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                key_field, value_field = field.message_type.fields
                container = getattr(message, field.name)
                for n in range(2):
                    key = _scalar(key_field, n)
                    if value_field.message_type is not None:
                        fill(container[key], depth + 1)
                    else:
                        container[key] = _scalar(value_field, n)
                continue
            if field.message_type.full_name == "google.protobuf.Any":
                target = getattr(message, field.name)
                target.type_url = "type.googleapis.com/agents.AgentId"
                target.value = agent_worker_pb2.AgentId(type="t", key="k").SerializeToString()
                continue
            if field.message_type.full_name == "google.protobuf.Timestamp":
                getattr(message, field.name).FromSeconds(1_700_000_000 + index)
                continue
            if depth > 3:
                continue
            if field.label == FieldDescriptor.LABEL_REPEATED:
                for _ in range(2):
                    fill(getattr(message, field.name).add(), depth + 1)
            else:
                fill(getattr(message, field.name), depth + 1)
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            getattr(message, field.name).extend([_scalar(field, index), _scalar(field, index + 1)])
        else:
            setattr(message, field.name, _scalar(field, index))
    return message


def variants(cls: type[Message]) -> Iterator[Message]:
    """One filled instance per member of the message's first real oneof (or one instance)."""
    real_oneofs = [o for o in cls.DESCRIPTOR.oneofs if not (len(o.fields) == 1 and o.name.startswith("_"))]
    if not real_oneofs:
        yield fill(cls())
        return
    for oneof in real_oneofs:
        for member in oneof.fields:
            yield fill(cls(), choose={oneof.name: member.name})
