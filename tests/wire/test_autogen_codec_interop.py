"""Our codec and autogen-core's serializers produce and accept the same bytes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pyruntime._proto import agent_worker_pb2
from pyruntime.wire import JSON, PROTOBUF, EncodedPayload, SerializationRegistry

pytestmark = pytest.mark.autogen
autogen_core = pytest.importorskip("autogen_core", reason="autogen-ext[grpc]==0.7.5 is not installed in this environment")


@dataclass
class Ping:
    text: str
    n: int


@pytest.mark.parametrize(
    "message, content_type",
    [(Ping("héllo", 3), JSON), (agent_worker_pb2.AgentId(type="a", key="b"), PROTOBUF)],
    ids=["dataclass-json", "protobuf-any"],
)
def test_same_bytes_and_names_as_autogen_core(message, content_type: str) -> None:
    from autogen_core import try_get_known_serializers_for_type
    from autogen_core._serialization import SerializationRegistry as AutogenRegistry

    theirs = AutogenRegistry()
    theirs.add_serializer(try_get_known_serializers_for_type(type(message)))
    their_name = theirs.type_name(message)
    their_bytes = theirs.serialize(message, type_name=their_name, data_content_type=content_type)

    ours = SerializationRegistry()
    encoded = ours.encode(message, content_type)
    assert encoded.type_name == their_name
    assert encoded.data == their_bytes
    assert theirs.deserialize(encoded.data, type_name=encoded.type_name, data_content_type=content_type) == message
    assert ours.decode(EncodedPayload(their_name, content_type, their_bytes)) == message
