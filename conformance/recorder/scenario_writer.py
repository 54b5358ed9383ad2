"""Turn a Recording into a scenario document the conformance engine replays.

Each recorded client-id becomes a named virtual peer (``worker1``, ``worker2``, ... in order of
first appearance; ``anonymous`` for traffic without a client-id). Steps follow the proxy's
observation order: a stream opened -> ``open``; a client's message -> ``send``; a host's message
-> ``expect`` (the next message on that peer's stream must match); a unary call -> ``call`` with
the recorded status and a response pattern; a client cancelling -> ``close``; the host ending a
stream -> ``expect_end``. Volatile values become matching rules (see :mod:`volatile`).

Streams still open when the recording stopped are simply left open (the engine closes them).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

from conformance.engine.errors import ScenarioError
from conformance.engine.loader import scenarios_from_document
from conformance.recorder.recording import Exchange, Recording
from conformance.recorder.namespacing import Namespacer
from conformance.recorder.volatile import VolatileValues
from pyruntime._proto import agent_worker_pb2

STREAM_TYPES: Final = {"channel": agent_worker_pb2.Message, "control": agent_worker_pb2.ControlMessage}
REQUEST_TYPES: Final = {
    "RegisterAgent": agent_worker_pb2.RegisterAgentTypeRequest,
    "AddSubscription": agent_worker_pb2.AddSubscriptionRequest,
    "RemoveSubscription": agent_worker_pb2.RemoveSubscriptionRequest,
    "GetSubscriptions": agent_worker_pb2.GetSubscriptionsRequest,
}
RESPONSE_TYPES: Final = {
    "RegisterAgent": agent_worker_pb2.RegisterAgentTypeResponse,
    "AddSubscription": agent_worker_pb2.AddSubscriptionResponse,
    "RemoveSubscription": agent_worker_pb2.RemoveSubscriptionResponse,
    "GetSubscriptions": agent_worker_pb2.GetSubscriptionsResponse,
}
DEFAULT_WITHIN: Final = 2.0
MAX_WITHIN: Final = 30.0
MAX_TIMEOUT: Final = 60.0
_ID_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$")
JSON_TYPE, PROTOBUF_TYPE = "application/json", "application/x-protobuf"


class ScenarioWriteError(ValueError):
    """The recording cannot be written as a valid scenario; the message says why."""


@dataclass
class _PeerTable:
    """Client-ids -> peer names, with an extra peer when one client has two streams of a kind open at once."""

    peers: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_of_client: dict[str | None, str] = field(default_factory=dict)
    open_kinds: dict[str, set[str]] = field(default_factory=dict)
    peer_of_stream: dict[int, str] = field(default_factory=dict)

    def base(self, client_id: str | None) -> str:
        if client_id not in self.base_of_client:
            if client_id is None:
                name = "anonymous"
                self.peers[name] = {"client_id": False}
            else:
                name = f"worker{sum(1 for c in self.base_of_client if c is not None) + 1}"
                self.peers[name] = {}
            self.base_of_client[client_id] = name
            self.open_kinds[name] = set()
        return self.base_of_client[client_id]

    def open(self, exchange: Exchange) -> str:
        base = self.base(exchange.client_id)
        candidates = [base] + [name for name in self.peers if name.startswith(base + "_")]
        for name in candidates:
            if exchange.stream not in self.open_kinds[name]:
                break
        else:
            name = f"{base}_{len(candidates) + 1}"
            self.peers[name] = {"client_id": False} if exchange.client_id is None else {"same_client_as": base}
            self.open_kinds[name] = set()
        self.open_kinds[name].add(exchange.stream)
        self.peer_of_stream[exchange.stream_id] = name
        return name

    def finish(self, exchange: Exchange) -> str | None:
        name = self.peer_of_stream.get(exchange.stream_id)
        if name is not None:
            self.open_kinds[name].discard(exchange.stream)
        return name


def _parse(message_type: type[ProtoMessage], data: bytes) -> ProtoMessage | None:
    message = message_type()
    try:
        message.ParseFromString(data)
    except DecodeError:
        return None
    return message


def _has_unknown_fields(message: ProtoMessage) -> bool:
    stripped = type(message)()
    stripped.CopyFrom(message)
    stripped.DiscardUnknownFields()
    return stripped.ByteSize() != message.ByteSize()


def _to_json(message: ProtoMessage) -> dict[str, Any]:
    return _readable(json_format.MessageToDict(message))


def _as_text(encoded: str) -> dict[str, Any] | str:
    """``{"$bytes": {"text": ...}}`` for base64 bytes that are UTF-8 (exactly the same bytes, but readable)."""
    try:
        text = base64.b64decode(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return encoded
    return {"$bytes": {"text": text}}


def _readable(body: Any) -> Any:
    """Show JSON payload bodies as text instead of base64 (Payload.data, CloudEvent binaryData)."""
    if isinstance(body, list):
        return [_readable(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {key: _readable(value) for key, value in body.items()}
    if out.get("dataContentType") == JSON_TYPE and isinstance(out.get("data"), str):
        out["data"] = _as_text(out["data"])
    content_type = out.get("attributes", {}).get("datacontenttype", {}).get("ceString") if isinstance(out.get("attributes"), dict) else None
    if content_type == JSON_TYPE and isinstance(out.get("binaryData"), str):
        out["binaryData"] = _as_text(out["binaryData"])
    return out


def _summary(stream: str, message: ProtoMessage) -> str:
    """A short human description for the step's note (ids and types only)."""
    if stream == "control":
        inner = message.rpcMessage.type_url.rpartition("/")[2] if message.HasField("rpcMessage") else "nothing"  # type: ignore[attr-defined]
        return f"ControlMessage to {message.destination or '?'} carrying {inner}"  # type: ignore[attr-defined]
    kind = message.WhichOneof("message")
    if kind == "cloudEvent":
        event = message.cloudEvent  # type: ignore[attr-defined]
        schema = event.attributes["dataschema"].ce_string if "dataschema" in event.attributes else "?"
        return f"event on topic {event.type}/{event.source}: {schema}"
    if kind == "request":
        request = message.request  # type: ignore[attr-defined]
        return f"RPC request to {request.target.type}/{request.target.key}: {request.payload.data_type or '?'}"
    if kind == "response":
        response = message.response  # type: ignore[attr-defined]
        return "RPC response" + (" (error)" if response.error else f": {response.payload.data_type or 'no payload'}")
    return "an empty Message"


def _content_types(exchanges: list[Exchange]) -> set[str]:
    found: set[str] = set()
    for exchange in exchanges:
        if exchange.kind in ("send", "receive") and exchange.stream == "channel":
            message = _parse(agent_worker_pb2.Message, exchange.data)
            if message is None:
                continue
            kind = message.WhichOneof("message")
            if kind == "cloudEvent":
                attrs = message.cloudEvent.attributes
                if "datacontenttype" in attrs:
                    found.add(attrs["datacontenttype"].ce_string)
                if message.cloudEvent.HasField("proto_data"):
                    found.add(PROTOBUF_TYPE)
            elif kind in ("request", "response"):
                found.add(getattr(message, kind).payload.data_content_type)
    return found


def _payload_tag(exchanges: list[Exchange]) -> str:
    types = _content_types(exchanges)
    if JSON_TYPE in types:
        return "json"
    return "protobuf" if PROTOBUF_TYPE in types else "none"


def _within(gap: float) -> float:
    """Wait budget for a received message: generous, and longer when the recording itself waited long."""
    if gap <= DEFAULT_WITHIN / 3:
        return DEFAULT_WITHIN
    return min(MAX_WITHIN, round(gap * 3 + 1.0, 1))


def case_id_for(name: str) -> str:
    """``recorded.<slug>`` from a free-form name (a file stem, usually)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_") or "session"
    if not slug[0].isalnum():
        slug = "s" + slug
    return f"recorded.{slug}"


def scenario_from_recording(
    recording: Recording, *, case_id: str = "recorded.session", title: str | None = None, namespace: bool = False
) -> dict[str, Any]:
    """The scenario document (a dict, ready for JSON) that replays ``recording``; validated by the engine's loader.

    ``namespace=True`` prefixes agent types and topic types with ``${ns}_`` (see :mod:`namespacing`).
    """
    if not _ID_PATTERN.match(case_id):
        raise ScenarioWriteError(f"case id {case_id!r} is not a hierarchical id like recorded.my-session")
    exchanges = sorted(recording.exchanges, key=lambda e: e.seq)
    table = _PeerTable()
    for exchange in exchanges:
        table.base(exchange.client_id)  # name peers by first appearance, whatever the exchange
    volatile = VolatileValues(client_names={c: n for c, n in table.base_of_client.items() if c is not None})
    names = Namespacer(enabled=namespace)
    for exchange in exchanges:
        if exchange.kind == "call":
            request = _parse(REQUEST_TYPES[exchange.stream], exchange.data)
            if request is not None:
                names.learn_request(exchange.stream, json_format.MessageToDict(request))
    steps: list[dict[str, Any]] = []
    left_out: list[str] = []
    last_at = 0.0
    for exchange in exchanges:
        produced = _steps_for(exchange, table, volatile, names, len(steps), exchange.at - last_at, left_out)
        if produced:
            last_at = exchange.finished_at if exchange.finished_at is not None else exchange.at
        steps.extend(produced)
    if not steps:
        raise ScenarioWriteError("the recording holds no exchange that can be replayed (no client connected through the proxy?)")
    duration = max((e.finished_at or e.at for e in exchanges), default=0.0)
    description = (
        f"Recorded by `agentrpc record` in front of {recording.upstream or 'a host'}: {len(exchanges)} exchanges "
        f"over {duration:.1f}s, {len(table.peers)} peer(s). Replays what each peer sent and expects what it received; "
        "random ids, client-ids and timestamps are matching rules. Metadata other than client-id is not replayed."
    )
    if namespace:
        description += " Agent types and topic types carry the per-run prefix ${ns}_."
    if left_out:
        description += " Left out: " + "; ".join(left_out) + "."
    document: dict[str, Any] = {
        "id": case_id,
        "title": title or f"Recorded session: {len(table.peers)} peer(s), {len(steps)} steps",
        "description": description,
        "level": "informational",
        "tags": ["recorded", _payload_tag(exchanges)],
        "timeout": min(MAX_TIMEOUT, max(10.0, round(duration * 2 + 5 + 0.05 * len(steps), 1))),
        "peers": table.peers,
        "steps": steps,
    }
    try:
        scenarios_from_document(document, Path(f"<recording {case_id}>"))
    except ScenarioError as error:
        raise ScenarioWriteError(f"the written scenario does not validate: {error}") from None
    return document


def _steps_for(
    exchange: Exchange, table: _PeerTable, volatile: VolatileValues, names: Namespacer, index: int, gap: float, left_out: list[str]
) -> list[dict[str, Any]]:
    if exchange.kind == "open":
        peer = table.open(exchange)
        return [{"open": {"peer": peer, "stream": exchange.stream}}]
    if exchange.kind in ("close", "end"):
        peer = table.finish(exchange)
        if peer is None:
            return []
        if exchange.kind == "close":
            return [{"close": {"peer": peer, "stream": exchange.stream}}]
        return [{"expect_end": {"peer": peer, "stream": exchange.stream, "status": exchange.code}}]
    if exchange.kind in ("send", "receive"):
        return _stream_message(exchange, table, volatile, names, index, gap, left_out)
    return _call(exchange, table, volatile, names, left_out)


def _stream_message(
    exchange: Exchange, table: _PeerTable, volatile: VolatileValues, names: Namespacer, index: int, gap: float, left_out: list[str]
) -> list[dict[str, Any]]:
    peer = table.peer_of_stream.get(exchange.stream_id)
    message = _parse(STREAM_TYPES[exchange.stream], exchange.data)
    if peer is None or message is None:
        left_out.append(f"an unparseable {exchange.kind} on a {exchange.stream} stream (seq {exchange.seq})")
        return []
    if _has_unknown_fields(message):
        left_out.append(f"unknown fields of seq {exchange.seq} (JSON cannot carry them)")
    body = names.message(_to_json(message)) if exchange.stream == "channel" else names.control(_to_json(message))
    note = volatile.clients(f"{peer} {'sends' if exchange.kind == 'send' else 'receives'} {_summary(exchange.stream, message)}")
    if exchange.kind == "send":
        capture = f"sent{index}"
        body = volatile.sent_message(peer, capture, body) if exchange.stream == "channel" else volatile.sent_control(capture, body)
        return [{"note": note, "send": {"peer": peer, "stream": exchange.stream, "message": body, "capture_as": capture}}]
    pattern = volatile.received_message(peer, body) if exchange.stream == "channel" else volatile.received_control(body)
    expect: dict[str, Any] = {"peer": peer, "stream": exchange.stream, "message": pattern}
    within = _within(gap)
    if within != DEFAULT_WITHIN:
        expect["within"] = within
    return [{"note": note, "expect": expect}]


def _call(exchange: Exchange, table: _PeerTable, volatile: VolatileValues, names: Namespacer, left_out: list[str]) -> list[dict[str, Any]]:
    method = exchange.stream
    peer = table.base(exchange.client_id)
    request = _parse(REQUEST_TYPES[method], exchange.data)
    if request is None or exchange.code == "PENDING":
        left_out.append(f"a {method} call (seq {exchange.seq}) that was {'unparseable' if request is None else 'unfinished'}")
        return []
    call: dict[str, Any] = {"peer": peer, "method": method, "request": names.request(method, volatile.call_request(method, _to_json(request)))}
    if exchange.code != "OK":
        call["status"] = exchange.code
        return [{"note": f"{peer} calls {method}; the host answered {exchange.code}", "call": call}]
    if method == "GetSubscriptions" and exchange.response is not None:
        response = _parse(RESPONSE_TYPES[method], exchange.response)
        listing = volatile.subscription_listing(_to_json(response)) if response is not None else []
        if listing:
            # The listing is checked once per recorded subscription (a pattern holds one $contains).
            return [{"note": f"{peer} lists subscriptions", "call": {**call, "response": names.listing_pattern(pattern)}} for pattern in listing]
    return [{"note": f"{peer} calls {method}", "call": call}]
