"""What the proxy saw: one ordered list of exchanges, each stamped relative to the start of the recording.

Per-stream order is the order of ``seq`` among a stream's exchanges; across streams ``seq`` is the
order in which the proxy saw them, which respects causality (a reply is read from the client only
after the message that caused it was read from the host).
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Literal

ExchangeKind = Literal["open", "send", "receive", "close", "end", "call"]
STREAM_KINDS = {"OpenChannel": "channel", "OpenControlChannel": "control"}
UNARY_METHODS = ("RegisterAgent", "AddSubscription", "RemoveSubscription", "GetSubscriptions")


@dataclass
class Exchange:
    """One observation.

    kind:
        open     a client opened ``stream`` (channel | control) as stream ``stream_id``
        send     client -> host message on a stream (``data`` = serialized Message / ControlMessage)
        receive  host -> client message on a stream
        close    the client cancelled its stream
        end      the host ended the stream with ``code``/``details``
        call     a unary call ``stream`` (= method name): ``data`` request, ``response``, ``code``, ``details``
    """

    seq: int
    at: float
    kind: ExchangeKind
    client_id: str | None
    stream: str
    stream_id: int
    data: bytes = b""
    response: bytes | None = None
    code: str = "OK"
    details: str = ""
    finished_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "at": round(self.at, 6),
            "kind": self.kind,
            "client_id": self.client_id,
            "stream": self.stream,
            "stream_id": self.stream_id,
        }
        if self.data:
            out["data"] = base64.b64encode(self.data).decode()
        if self.response is not None:
            out["response"] = base64.b64encode(self.response).decode()
        if self.kind in ("end", "call"):
            out["code"], out["details"] = self.code, self.details
        if self.finished_at is not None:
            out["finished_at"] = round(self.finished_at, 6)
        return out

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> "Exchange":
        return cls(
            seq=int(item["seq"]),
            at=float(item["at"]),
            kind=item["kind"],
            client_id=item.get("client_id"),
            stream=item["stream"],
            stream_id=int(item["stream_id"]),
            data=base64.b64decode(item.get("data", "")),
            response=base64.b64decode(item["response"]) if "response" in item else None,
            code=item.get("code", "OK"),
            details=item.get("details", ""),
            finished_at=item.get("finished_at"),
        )


@dataclass
class Recording:
    """The exchanges of one recording session (single event loop: no locking needed)."""

    upstream: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    _started: float = field(default_factory=time.monotonic, repr=False)
    _seq: itertools.count = field(default_factory=itertools.count, repr=False)
    _stream_ids: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def _now(self) -> float:
        return time.monotonic() - self._started

    def _add(self, kind: ExchangeKind, client_id: str | None, stream: str, stream_id: int, **extra: Any) -> Exchange:
        exchange = Exchange(next(self._seq), self._now(), kind, client_id, stream, stream_id, **extra)
        self.exchanges.append(exchange)
        return exchange

    def open_stream(self, stream: str, client_id: str | None) -> int:
        stream_id = next(self._stream_ids)
        self._add("open", client_id, stream, stream_id)
        return stream_id

    def message(self, kind: Literal["send", "receive"], stream: str, stream_id: int, client_id: str | None, data: bytes) -> None:
        self._add(kind, client_id, stream, stream_id, data=data)

    def closed_by_client(self, stream: str, stream_id: int, client_id: str | None) -> None:
        self._add("close", client_id, stream, stream_id)

    def ended(self, stream: str, stream_id: int, client_id: str | None, code: str, details: str) -> None:
        self._add("end", client_id, stream, stream_id, code=code, details=details)

    def call_started(self, method: str, client_id: str | None, request: bytes) -> Exchange:
        return self._add("call", client_id, method, next(self._stream_ids), data=request, code="PENDING")

    def call_finished(self, exchange: Exchange, code: str, details: str, response: bytes | None) -> None:
        exchange.code, exchange.details, exchange.response = code, details, response
        exchange.finished_at = self._now()

    def snapshot(self) -> "Recording":
        """A copy holding the exchanges seen so far (the live one keeps growing until the proxy stops)."""
        copy = Recording(upstream=self.upstream, exchanges=list(self.exchanges))
        return copy

    def to_json(self) -> dict[str, Any]:
        return {"upstream": self.upstream, "exchanges": [e.to_json() for e in self.exchanges]}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> "Recording":
        return cls(upstream=document.get("upstream", ""), exchanges=[Exchange.from_json(e) for e in document["exchanges"]])
