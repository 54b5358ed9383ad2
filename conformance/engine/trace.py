"""An annotated record of everything a case sent and received, formatted only when a case fails."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage

SUMMARY_LIMIT = 160


@dataclass
class TraceEntry:
    """One observation. ``message`` is kept as-is and summarised lazily (never on the hot path)."""

    at: float
    direction: str  # "->" to the host, "<-" from the host, "!!" a step note or failure
    peer: str
    stream: str  # channel | control | a unary method name
    what: str  # short label: message kind, status, note
    message: ProtoMessage | None = None
    size: int | None = None


def summarise(message: ProtoMessage, limit: int = SUMMARY_LIMIT) -> str:
    """Decoded protobuf JSON of ``message``, truncated."""
    text = json.dumps(json_format.MessageToDict(message), separators=(",", ":"), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Trace:
    """Entries in arrival order with times relative to the start of the case."""

    started: float = field(default_factory=time.monotonic)
    entries: list[TraceEntry] = field(default_factory=list)

    def add(self, direction: str, peer: str, stream: str, what: str, message: ProtoMessage | None = None) -> None:
        size = message.ByteSize() if message is not None else None
        self.entries.append(TraceEntry(time.monotonic(), direction, peer, stream, what, message, size))

    def note(self, text: str) -> None:
        self.add("!!", "-", "-", text)

    def format(self) -> str:
        """The annotated trace: relative ms, direction, peer, stream, label, bytes, decoded summary."""
        lines = ["    ms  dir  peer         stream              what                    bytes  message"]
        for entry in self.entries:
            ms = (entry.at - self.started) * 1000
            size = "" if entry.size is None else str(entry.size)
            body = summarise(entry.message) if entry.message is not None else ""
            lines.append(
                f"{ms:6.0f}  {entry.direction:<3}  {entry.peer[:12]:<12} {entry.stream[:19]:<19} "
                f"{entry.what[:23]:<23} {size:>5}  {body}"
            )
        return "\n".join(lines)

    def to_json(self) -> list[dict[str, Any]]:
        """Entries as JSON-ready dicts (for the results file)."""
        return [
            {
                "ms": round((e.at - self.started) * 1000, 1),
                "direction": e.direction,
                "peer": e.peer,
                "stream": e.stream,
                "what": e.what,
                "bytes": e.size,
                "message": summarise(e.message) if e.message is not None else None,
            }
            for e in self.entries
        ]
