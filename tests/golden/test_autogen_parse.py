"""Every vector parses with autogen-ext's own generated classes, and its payload bodies match autogen-core's."""

from __future__ import annotations

import dataclasses
import functools

import pytest
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, json_format, message_factory, timestamp_pb2, wrappers_pb2

from conformance.golden import payloads
from conformance.golden.descriptors import descriptor_set_bytes
from tests.golden.committed_pack import PACK, PackVector, manifest, vectors

pytestmark = pytest.mark.autogen
pytest.importorskip("autogen_ext.runtimes.grpc.protos.agent_worker_pb2", reason="autogen-ext[grpc]==0.7.5 is not installed here")

from autogen_ext.runtimes.grpc.protos import agent_worker_pb2 as their_aw  # noqa: E402
from autogen_ext.runtimes.grpc.protos import cloudevent_pb2 as their_ce  # noqa: E402

ALL = vectors()


def _their_class(message_type: str):
    if message_type.startswith("io.cloudevents.v1."):
        path = message_type.removeprefix("io.cloudevents.v1.").split(".")
        cls = their_ce
    else:
        path = message_type.removeprefix("agents.").split(".")
        cls = their_aw
    for part in path:
        cls = getattr(cls, part)
    return cls


def test_descriptor_set_is_autogens() -> None:
    assert (PACK / manifest()["protos"]["descriptor_set"]).read_bytes() == descriptor_set_bytes((their_ce, their_aw))


@functools.cache
def _isolated_pool() -> descriptor_pool.DescriptorPool:
    """A pool built only from autogen-ext's embedded descriptors (+ the well-known types they import).

    In the default pool autogen's classes and ours are one and the same (the pool shares
    byte-identical files), so this pool is what makes the parse below independent of our code.
    """
    pool = descriptor_pool.DescriptorPool()
    for module in (any_pb2, timestamp_pb2, wrappers_pb2, their_ce, their_aw):
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    return pool


@pytest.mark.parametrize("vector", ALL, ids=lambda v: v.id)
def test_autogen_classes_parse_every_vector(vector: PackVector) -> None:
    binary = vector.read("binary")
    for cls in (_their_class(vector.message_type), message_factory.GetMessageClass(_isolated_pool().FindMessageTypeByName(vector.message_type))):
        theirs = cls.FromString(binary)
        assert theirs.SerializeToString(deterministic=True) == binary
        assert cls.DESCRIPTOR.full_name == vector.message_type
    cls = _their_class(vector.message_type)
    from_json = json_format.Parse(vector.read("json"), cls())
    ours = vector.new_message()
    json_format.Parse(vector.read("json"), ours)
    assert from_json.SerializeToString(deterministic=True) == ours.SerializeToString(deterministic=True)


@pytest.mark.parametrize("sample", [payloads.CHAT, payloads.NoFields(), payloads.MEASUREMENTS, payloads.UNICODE_NOTE], ids=lambda s: type(s).__name__)
def test_dataclass_bodies_are_what_autogen_core_writes(sample: object) -> None:
    from autogen_core import try_get_known_serializers_for_type
    from autogen_core._serialization import SerializationRegistry

    registry = SerializationRegistry()
    registry.add_serializer(try_get_known_serializers_for_type(type(sample)))
    name = registry.type_name(sample)
    assert name == type(sample).__name__
    body = registry.serialize(sample, type_name=name, data_content_type="application/json")
    assert body == payloads.dataclass_body(sample)
    assert registry.deserialize(body, type_name=name, data_content_type="application/json") == dataclasses.replace(sample)  # type: ignore[type-var]


def test_protobuf_bodies_are_what_autogen_core_writes() -> None:
    from autogen_core import try_get_known_serializers_for_type
    from autogen_core._serialization import SerializationRegistry

    message = their_aw.AgentId(type=payloads.AGENT_ID_MESSAGE.type, key=payloads.AGENT_ID_MESSAGE.key)
    registry = SerializationRegistry()
    registry.add_serializer(try_get_known_serializers_for_type(type(message)))
    body = registry.serialize(message, type_name="agents.AgentId", data_content_type="application/x-protobuf")
    assert body == payloads.any_bytes(payloads.AGENT_ID_MESSAGE)
