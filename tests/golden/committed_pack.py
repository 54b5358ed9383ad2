"""The committed fixture pack (fixtures/golden) as the tests read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor_pool import Default
from google.protobuf.message import Message

from pyruntime._proto import agent_worker_pb2, cloudevent_pb2  # noqa: F401  (registers the contract types)

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "fixtures" / "golden"
SCHEMA = ROOT / "fixtures" / "schema" / "manifest.schema.json"


@dataclass(frozen=True)
class PackVector:
    """One manifest entry plus its file bytes."""

    entry: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    @property
    def message_type(self) -> str:
        return str(self.entry["message_type"])

    @property
    def unknown_fields(self) -> bool:
        return bool(self.entry["unknown_fields"])

    def read(self, kind: str) -> bytes:
        return (PACK / self.entry["files"][kind]).read_bytes()

    def has(self, kind: str) -> bool:
        return kind in self.entry["files"]

    def new_message(self) -> Message:
        """An empty instance of the vector's type (our generated classes)."""
        return message_factory.GetMessageClass(Default().FindMessageTypeByName(self.message_type))()


@cache
def manifest() -> dict[str, Any]:
    return json.loads((PACK / "manifest.json").read_bytes())


def vectors() -> list[PackVector]:
    return [PackVector(entry) for entry in manifest()["vectors"]]
