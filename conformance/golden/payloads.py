"""Sample payload bodies, byte-exact to what AutoGen's runtimes put in ``Payload.data`` / CloudEvent data.

JSON bodies of dataclasses are ``json.dumps(dataclasses.asdict(obj))`` (default separators,
ASCII escapes), which is what AutoGen's Python serializer writes. The pydantic-style body is
compact raw UTF-8 (``model_dump_json()``), written out literally so no pydantic is needed.
Protobuf bodies are a serialized ``google.protobuf.Any`` (never the bare message).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from google.protobuf import any_pb2, wrappers_pb2
from google.protobuf.message import Message as ProtoMessage

from pyruntime._proto import agent_worker_pb2
from pyruntime.wire import JSON, PROTOBUF, EncodedPayload


@dataclass
class ChatMessage:
    """The usual small chat message of AutoGen samples."""

    content: str
    source: str


@dataclass
class NoFields:
    """A dataclass without fields: its body is ``{}``."""


@dataclass
class Measurements:
    """Every JSON scalar kind AutoGen's dataclass serializer accepts (no unions, no nesting)."""

    count: int
    ratio: float
    ok: bool
    labels: list[str] = field(default_factory=list)
    scores: dict[str, int] = field(default_factory=dict)


@dataclass
class Заметка:  # noqa: N801  (a non-ASCII class name: it becomes the payload type name)
    """Unicode everywhere: type name, field names and values."""

    текст: str
    emoji: str


def dataclass_body(obj: object) -> bytes:
    """The JSON body AutoGen's Python runtime writes for a dataclass."""
    return json.dumps(dataclasses.asdict(obj)).encode()  # type: ignore[arg-type]


def dataclass_payload(obj: object) -> EncodedPayload:
    return EncodedPayload(type(obj).__name__, JSON, dataclass_body(obj))


def any_bytes(message: ProtoMessage) -> bytes:
    packed = any_pb2.Any()
    packed.Pack(message, deterministic=True)
    return packed.SerializeToString(deterministic=True)


def protobuf_payload(message: ProtoMessage) -> EncodedPayload:
    return EncodedPayload(message.DESCRIPTOR.full_name, PROTOBUF, any_bytes(message))


def filler_text(size: int) -> str:
    """``size`` ASCII characters of a fixed, recognisable pattern (deterministic, compresses well)."""
    unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
    return (unit * (size // len(unit) + 1))[:size]


def sized_chat_body(total: int) -> bytes:
    """A ChatMessage JSON body of exactly ``total`` bytes."""
    overhead = len(dataclass_body(ChatMessage(content="", source="golden")))
    body = dataclass_body(ChatMessage(content=filler_text(total - overhead), source="golden"))
    assert len(body) == total
    return body


CHAT = ChatMessage(content="Hello from the golden vectors", source="user")
MEASUREMENTS = Measurements(count=-3, ratio=0.25, ok=False, labels=["a", "é"], scores={"x": 1, "ключ": 2})
UNICODE_NOTE = Заметка(текст="Привет, мир", emoji="🙂✓ 中文")
PYDANTIC_STYLE = EncodedPayload("PydanticNote", JSON, '{"title":"naïve café","items":[1,2,3],"nested":{"ok":true}}'.encode())
AGENT_ID_MESSAGE = agent_worker_pb2.AgentId(type="proto_agent", key="k1")
STRING_VALUE = wrappers_pb2.StringValue(value="a protobuf payload ✓")
