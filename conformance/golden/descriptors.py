"""The FileDescriptorSet of the two contract files, as the fixture pack records and hashes it.

Built from the descriptors embedded in the generated code (exactly what protoc produced), so
the bytes do not depend on the protobuf runtime version. Order: cloudevent.proto first (the
other file imports it), then agent_worker.proto.
"""

from __future__ import annotations

import hashlib
from types import ModuleType

from google.protobuf import descriptor_pb2

from pyruntime._proto import agent_worker_pb2, cloudevent_pb2

CONTRACT_MODULES: tuple[ModuleType, ...] = (cloudevent_pb2, agent_worker_pb2)


def descriptor_set_bytes(modules: tuple[ModuleType, ...] = CONTRACT_MODULES) -> bytes:
    """The deterministic serialization of a FileDescriptorSet of ``modules``' files."""
    files = [descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb) for module in modules]
    return descriptor_pb2.FileDescriptorSet(file=files).SerializeToString(deterministic=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
