"""The catalogue of golden vectors: every message of both contracts, every oneof member, the edge cases.

A vector is one message under a stable name. Its canonical binary form is the deterministic
serialization, unless ``binary`` gives the exact bytes (used for unknown fields, which a
message object cannot be built with). Names never change once published: a consumer's test
may refer to ``agents.Message/cloud-event-python-json`` for ever; new cases get new names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from google.protobuf import timestamp_pb2, wrappers_pb2
from google.protobuf.message import Message as ProtoMessage

from conformance.golden import payloads as p
from pyruntime._proto import agent_worker_pb2 as aw
from pyruntime._proto import cloudevent_pb2 as ce
from pyruntime.wire import AgentRef, EncodedPayload, build_cloud_event, set_attribute

CloudEvent = ce.CloudEvent
AttributeValue = ce.CloudEvent.CloudEventAttributeValue

# Sizes of the large vectors: above the 64 KiB HTTP/2 default window, and just under 1 MiB in total.
WINDOW_PLUS = 70 * 1024
NEAR_ONE_MIB = 1024 * 1024 - 512


@dataclass(frozen=True)
class Vector:
    """One golden case."""

    name: str
    message: ProtoMessage
    description: str
    tags: tuple[str, ...] = ()
    binary: bytes | None = None  # exact bytes when they are not the deterministic serialization

    @property
    def message_type(self) -> str:
        return str(self.message.DESCRIPTOR.full_name)

    @property
    def id(self) -> str:
        return f"{self.message_type}/{self.name}"

    @property
    def has_unknown_fields(self) -> bool:
        return self.binary is not None


# --- building blocks -------------------------------------------------------------------------------


def _payload(encoded: EncodedPayload) -> aw.Payload:
    return aw.Payload(data_type=encoded.type_name, data_content_type=encoded.content_type, data=encoded.data)


def _python_event(topic_type: str, source: str, payload: EncodedPayload, sender: AgentRef | None, event_id: str) -> CloudEvent:
    return build_cloud_event(topic_type=topic_type, topic_source=source, payload=payload, sender=sender, message_id=event_id)


def _dotnet_event(topic_type: str, source: str, payload: EncodedPayload, sender: AgentRef | None, event_id: str) -> CloudEvent:
    return build_cloud_event(
        topic_type=topic_type, topic_source=source, payload=payload, sender=sender, message_id=event_id, style="dotnet"
    )


def _attribute(**kind: object) -> AttributeValue:
    value = AttributeValue()
    (name, item), = kind.items()
    if name == "ce_timestamp":
        value.ce_timestamp.CopyFrom(item)  # type: ignore[arg-type]
    else:
        setattr(value, name, item)
    return value


def _timestamp(text: str) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromJsonString(text)
    return stamp


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _length_delimited(number: int, data: bytes) -> bytes:
    return _tag(number, 2) + _varint(len(data)) + data


# Unknown fields as a newer contract version might add them: a varint, a string, a fixed64 and a fixed32.
UNKNOWN_TAIL = (
    _tag(15, 0) + _varint(150)
    + _length_delimited(16, "from the future ✓".encode())
    + _tag(17, 1) + (0x0102030405060708).to_bytes(8, "little")
    + _tag(2047, 5) + (0xCAFEBABE).to_bytes(4, "little")
)


def _with_unknown_tail(message: ProtoMessage) -> bytes:
    # Unknown fields go after the known ones: that is where every runtime re-emits them.
    return message.SerializeToString(deterministic=True) + UNKNOWN_TAIL


# --- the vectors, per message type ------------------------------------------------------------------

PY_SENDER = AgentRef("assistant", "default")
DOTNET_REQUEST_ID = "3f2b6c1e-8d4a-4e5f-9a7b-0c1d2e3f4a5b"


def _agent_ids() -> Iterator[Vector]:
    yield Vector("basic", aw.AgentId(type="assistant", key="default"), "An agent id as both runtimes write it.", ("python", "dotnet"))
    yield Vector("empty", aw.AgentId(), "No fields set: zero bytes on the wire, {} in JSON.", ("empty",))
    yield Vector(
        "unicode",
        aw.AgentId(type="агент_✓", key="clé 🔑/with/slashes"),
        "Unicode type (legal for Python's \\w rule) and a key with spaces, emoji and '/' (keys are free text).",
        ("unicode",),
    )
    basic = aw.AgentId(type="assistant", key="default")
    yield Vector(
        "unknown-fields",
        aw.AgentId.FromString(_with_unknown_tail(basic)),
        "Known fields plus unknown fields 15 (varint), 16 (string), 17 (fixed64), 2047 (fixed32). "
        "Binary parse+serialize keeps them; the JSON omits them.",
        ("unknown-fields",),
        binary=_with_unknown_tail(basic),
    )


def _payloads() -> Iterator[Vector]:
    yield Vector("json-dataclass", _payload(p.dataclass_payload(p.CHAT)), "json.dumps(asdict(ChatMessage)) as the Python worker writes it.", ("json", "python"))
    yield Vector("json-dataclass-no-fields", _payload(p.dataclass_payload(p.NoFields())), "A field-less dataclass: body {}.", ("json", "empty"))
    yield Vector("json-dataclass-scalars", _payload(p.dataclass_payload(p.MEASUREMENTS)), "int, float, bool, list and dict fields, non-ASCII escaped as \\uXXXX.", ("json", "unicode"))
    yield Vector("json-dataclass-unicode", _payload(p.dataclass_payload(p.UNICODE_NOTE)), "Unicode type name, field names and values (escaped by json.dumps).", ("json", "unicode"))
    yield Vector("json-pydantic", _payload(p.PYDANTIC_STYLE), "A pydantic-style compact body with raw UTF-8.", ("json", "unicode"))
    yield Vector("protobuf-any", _payload(p.protobuf_payload(p.AGENT_ID_MESSAGE)), "x-protobuf: data is a serialized Any packing agents.AgentId.", ("protobuf",))
    yield Vector("protobuf-any-wrapper", _payload(p.protobuf_payload(p.STRING_VALUE)), "x-protobuf: an Any packing google.protobuf.StringValue.", ("protobuf", "unicode"))
    yield Vector("empty", aw.Payload(), "No fields set.", ("empty",))


def _rpc_requests() -> Iterator[Vector]:
    yield Vector(
        "python-json",
        aw.RpcRequest(
            request_id="1",
            source=aw.AgentId(type="caller", key="default"),
            target=aw.AgentId(type="callee", key="default"),
            payload=_payload(p.dataclass_payload(p.CHAT)),
            metadata={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        ),
        "What the Python worker sends: counter request id, JSON payload, trace context metadata.",
        ("python", "json"),
    )
    yield Vector(
        "dotnet-protobuf",
        aw.RpcRequest(
            request_id=DOTNET_REQUEST_ID,
            source=aw.AgentId(type="Caller", key="default"),
            target=aw.AgentId(type="Callee", key="default"),
            payload=_payload(p.protobuf_payload(p.AGENT_ID_MESSAGE)),
        ),
        "What the .NET worker sends: GUID request id, x-protobuf Any payload, no metadata.",
        ("dotnet", "protobuf"),
    )
    yield Vector(
        "no-source",
        aw.RpcRequest(request_id="2", target=aw.AgentId(type="callee", key="k"), payload=_payload(p.dataclass_payload(p.CHAT))),
        "An anonymous request: the optional source is absent (not empty).",
        ("json", "presence"),
    )
    yield Vector(
        "empty-source",
        aw.RpcRequest(request_id="3", source=aw.AgentId(), target=aw.AgentId(type="callee", key="k")),
        "The optional source is present but empty: it must survive as present ({} in JSON).",
        ("presence", "empty"),
    )
    yield Vector(
        "method-and-metadata",
        aw.RpcRequest(
            request_id="4",
            target=aw.AgentId(type="callee", key="k"),
            method="handle",
            payload=_payload(p.dataclass_payload(p.MEASUREMENTS)),
            metadata={"tracestate": "vendor=value", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "ключ-✓": "значение 🙂"},
        ),
        "The method field (never set by either runtime) and several metadata entries, one with unicode key and value.",
        ("unicode", "json"),
    )
    yield Vector("empty", aw.RpcRequest(), "No fields set.", ("empty",))
    large = aw.RpcRequest(
        request_id="5",
        target=aw.AgentId(type="callee", key="k"),
        payload=_payload(p.protobuf_payload(wrappers_pb2.StringValue(value=p.filler_text(WINDOW_PLUS)))),
    )
    yield Vector("protobuf-70kib", large, "A 70 KiB protobuf payload: more than the 64 KiB HTTP/2 default flow-control window.", ("large", "protobuf"))


def _rpc_responses() -> Iterator[Vector]:
    yield Vector(
        "python-json",
        aw.RpcResponse(request_id="1", payload=_payload(p.dataclass_payload(p.CHAT))),
        "A successful Python reply: JSON payload, no error, no metadata.",
        ("python", "json"),
    )
    yield Vector(
        "dotnet-protobuf",
        aw.RpcResponse(request_id=DOTNET_REQUEST_ID, payload=_payload(p.protobuf_payload(p.AGENT_ID_MESSAGE))),
        "A successful .NET reply: x-protobuf Any payload.",
        ("dotnet", "protobuf"),
    )
    yield Vector(
        "error",
        aw.RpcResponse(request_id="7", error="ValueError: the handler failed ✗"),
        "A handler error: error text, no payload (what the Python worker sends when a handler raises).",
        ("python", "error", "unicode"),
    )
    yield Vector(
        "metadata",
        aw.RpcResponse(request_id="8", payload=_payload(p.PYDANTIC_STYLE), metadata={"a": "1", "b": "", "🔑": "✓"}),
        "Metadata with an empty value and a unicode key.",
        ("unicode", "json"),
    )
    yield Vector("empty", aw.RpcResponse(), "No fields set (the Python worker's reply when nothing can be said).", ("empty",))


def _registration() -> Iterator[Vector]:
    yield Vector("basic", aw.RegisterAgentTypeRequest(type="assistant"), "Register one agent type.", ("python", "dotnet"))
    yield Vector("unicode", aw.RegisterAgentTypeRequest(type="агент.тип-1"), "A unicode agent type (legal in Python, rejected by .NET).", ("unicode",))
    yield Vector("empty", aw.RegisterAgentTypeRequest(), "The empty type (both hubs accept it).", ("empty",))
    yield Vector("empty", aw.RegisterAgentTypeResponse(), "The only response: no fields.", ("empty",))


def _subscriptions() -> Iterator[Vector]:
    type_sub = aw.TypeSubscription(topic_type="chat", agent_type="assistant")
    prefix_sub = aw.TypePrefixSubscription(topic_type_prefix="assistant:", agent_type="assistant")
    yield Vector("basic", type_sub, "Topic type -> agent type.", ())
    yield Vector("empty", aw.TypeSubscription(), "No fields set.", ("empty",))
    yield Vector("basic", prefix_sub, "The direct-message prefix subscription both workers add at registration.", ())
    yield Vector("empty", aw.TypePrefixSubscription(), "No fields set.", ("empty",))
    yield Vector(
        "type-subscription",
        aw.Subscription(id="0b5e5c9e-4a43-4f0c-9d39-7f2f3bb0c8a1", typeSubscription=type_sub),
        "The typeSubscription member, with a client-chosen uuid id.",
        ("python",),
    )
    yield Vector(
        "type-prefix-subscription",
        aw.Subscription(id="sub-2", typePrefixSubscription=prefix_sub),
        "The typePrefixSubscription member.",
        (),
    )
    yield Vector(
        "empty-member",
        aw.Subscription(id="sub-3", typeSubscription=aw.TypeSubscription()),
        "The oneof member is set but empty: present on the wire (field 2, length 0).",
        ("presence", "empty"),
    )
    yield Vector("no-member", aw.Subscription(id="sub-4"), "No oneof member (hosts must reject it).", ("bad-input",))
    yield Vector(
        "unicode",
        aw.Subscription(id="ид-✓", typeSubscription=aw.TypeSubscription(topic_type="тема", agent_type="агент")),
        "Unicode id, topic and agent type.",
        ("unicode",),
    )
    yield Vector("type-subscription", aw.AddSubscriptionRequest(subscription=aw.Subscription(id="sub-1", typeSubscription=type_sub)), "Add a type subscription.", ())
    yield Vector(
        "type-prefix-subscription",
        aw.AddSubscriptionRequest(subscription=aw.Subscription(id="sub-2", typePrefixSubscription=prefix_sub)),
        "Add a prefix subscription.",
        (),
    )
    yield Vector("empty", aw.AddSubscriptionRequest(), "No subscription at all (hosts must reject it).", ("empty", "bad-input"))
    yield Vector("empty", aw.AddSubscriptionResponse(), "The only response: no fields.", ("empty",))
    yield Vector("basic", aw.RemoveSubscriptionRequest(id="sub-1"), "Remove by id.", ())
    yield Vector("empty", aw.RemoveSubscriptionRequest(), "The empty id.", ("empty",))
    yield Vector("empty", aw.RemoveSubscriptionResponse(), "The only response: no fields.", ("empty",))
    yield Vector("empty", aw.GetSubscriptionsRequest(), "The only request: no fields.", ("empty",))
    yield Vector(
        "several",
        aw.GetSubscriptionsResponse(
            subscriptions=[
                aw.Subscription(id="sub-1", typeSubscription=type_sub),
                aw.Subscription(id="sub-2", typePrefixSubscription=prefix_sub),
                aw.Subscription(id="sub-3", typeSubscription=aw.TypeSubscription(topic_type="news", agent_type="reader")),
            ]
        ),
        "A list mixing both members; order is significant.",
        (),
    )
    yield Vector("empty", aw.GetSubscriptionsResponse(), "No subscriptions.", ("empty",))


def _events() -> Iterator[tuple[str, CloudEvent, str, tuple[str, ...]]]:
    """CloudEvent cases, shared by the CloudEvent vectors and (some) Message vectors."""
    yield (
        "python-json",
        _python_event("chat", "default", p.dataclass_payload(p.CHAT), PY_SENDER, "6e1b1f0e-0000-4000-8000-000000000001"),
        "Python worker, JSON mode: spec_version 1.0, sender attributes, dataclass JSON in binary_data.",
        ("python", "json"),
    )
    yield (
        "python-json-anonymous",
        _python_event("chat", "default", p.dataclass_payload(p.CHAT), None, "6e1b1f0e-0000-4000-8000-000000000002"),
        "Python worker publishing without a sender: sender attributes are unknown/unknown.",
        ("python", "json"),
    )
    yield (
        "python-protobuf",
        _python_event("chat", "default", p.protobuf_payload(p.AGENT_ID_MESSAGE), PY_SENDER, "6e1b1f0e-0000-4000-8000-000000000003"),
        "Python worker, protobuf mode: the Any in proto_data.",
        ("python", "protobuf"),
    )
    yield (
        "dotnet-protobuf",
        _dotnet_event("chat", "default", p.protobuf_payload(p.AGENT_ID_MESSAGE), None, "b1946ac9-2a8f-4c5e-9d1b-6f3e0a2c7d48"),
        ".NET worker, anonymous: spec_version \"\" and no sender attributes.",
        ("dotnet", "protobuf"),
    )
    yield (
        "dotnet-protobuf-with-sender",
        _dotnet_event("chat", "default", p.protobuf_payload(p.STRING_VALUE), AgentRef("Writer", "default"), "5d41402a-bc4b-4a76-b971-9d911017c592"),
        ".NET agent publishing: sender attributes present, spec_version \"\".",
        ("dotnet", "protobuf", "unicode"),
    )
    text_event = CloudEvent(id="text-1", source="default", spec_version="1.0", type="chat", text_data='{"content":"text data ✓","source":"user"}')
    text_event.attributes["datacontenttype"].ce_string = "application/json"
    text_event.attributes["dataschema"].ce_string = "ChatMessage"
    text_event.attributes["agmsgkind"].ce_string = "publish"
    yield ("json-in-text-data", text_event, "JSON in text_data (neither runtime writes it; the Python worker cannot read it).", ("json", "unicode"))
    every = CloudEvent(id="attrs-1", source="https://example.com/sources/1", spec_version="1.0", type="com.example.every-attribute", binary_data=b"\x00\x01\xfe\xff")
    attributes = {
        "boolean": _attribute(ce_boolean=True),
        "booleanfalse": _attribute(ce_boolean=False),
        "integer": _attribute(ce_integer=42),
        "integermin": _attribute(ce_integer=-(2**31)),
        "integermax": _attribute(ce_integer=2**31 - 1),
        "integerzero": _attribute(ce_integer=0),
        "string": _attribute(ce_string="a string ✓"),
        "stringempty": _attribute(ce_string=""),
        "bytes": _attribute(ce_bytes=b"\x00\x80\xff binary"),
        "uri": _attribute(ce_uri="https://example.com/path?q=1#frag"),
        "uriref": _attribute(ce_uri_ref="/relative/path"),
        "time": _attribute(ce_timestamp=_timestamp("2024-02-29T23:59:59.123456Z")),
        "timestampnanos": _attribute(ce_timestamp=_timestamp("2024-02-29T23:59:59.123456789Z")),
        "timestampepoch": _attribute(ce_timestamp=timestamp_pb2.Timestamp()),
        "timestampbeforeepoch": _attribute(ce_timestamp=_timestamp("1969-12-31T23:59:59.500Z")),
        "datacontenttype": _attribute(ce_string="application/octet-stream"),
    }
    for name, value in attributes.items():
        every.attributes[name].CopyFrom(value)
    yield (
        "every-attribute-kind",
        every,
        "Every attribute kind (boolean, integer incl. int32 bounds, string, bytes, uri, uri-ref, timestamp incl. nanos and pre-epoch; the context attribute time at microsecond precision), "
        "default values inside the oneof (false, 0, \"\"), and non-JSON binary_data.",
        ("attributes", "empty"),
    )
    unicode_event = _python_event("тема.чат", "источник 🙂", p.dataclass_payload(p.UNICODE_NOTE), AgentRef("агент", "ключ ✓"), "ид-1")
    set_attribute(unicode_event, "ключ-атрибута", "значение ✓")
    set_attribute(unicode_event, "emoji🙂", "🙂")
    yield ("unicode", unicode_event, "Unicode topic, source, id, sender, payload and attribute names and values. The attribute names break the CloudEvents naming rule (lowercase a-z0-9); the protobuf map allows them, strict CloudEvents SDKs may refuse the .ce.json.", ("unicode", "json"))
    no_data = CloudEvent(id="no-data-1", source="default", spec_version="1.0", type="ping")
    no_data.attributes["agmsgkind"].ce_string = "publish"
    yield ("no-data", no_data, "No data member set at all.", ("empty",))
    yield ("empty", CloudEvent(), "No fields set.", ("empty",))
    empty_members = CloudEvent(id="e", source="s", spec_version="1.0", type="t", binary_data=b"")
    yield ("empty-binary-data", empty_members, "binary_data set to zero bytes: the member is present on the wire.", ("presence", "empty"))
    empty_text = CloudEvent(id="e", source="s", spec_version="1.0", type="t", text_data="")
    yield ("empty-text-data", empty_text, "text_data set to the empty string.", ("presence", "empty"))
    empty_proto = CloudEvent(id="e", source="s", spec_version="1.0", type="t")
    empty_proto.proto_data.SetInParent()
    yield ("empty-proto-data", empty_proto, "proto_data set to an empty Any.", ("presence", "empty"))
    large_payload = EncodedPayload("ChatMessage", "application/json", p.sized_chat_body(WINDOW_PLUS))
    yield (
        "python-json-70kib",
        _python_event("chat", "default", large_payload, PY_SENDER, "6e1b1f0e-0000-4000-8000-000000000070"),
        "A 70 KiB JSON body: more than the 64 KiB HTTP/2 default flow-control window.",
        ("python", "json", "large"),
    )


def _cloud_events() -> Iterator[Vector]:
    for name, event, description, tags in _events():
        yield Vector(name, event, description, tags)
    base = next(e for n, e, _, _ in _events() if n == "python-json")
    yield Vector(
        "unknown-fields",
        CloudEvent.FromString(_with_unknown_tail(base)),
        "A Python JSON event followed by unknown fields (a newer contract). Binary keeps them; JSON omits them.",
        ("unknown-fields", "python", "json"),
        binary=_with_unknown_tail(base),
    )


def _attribute_values() -> Iterator[Vector]:
    cases: list[tuple[str, AttributeValue, str]] = [
        ("ce-boolean", _attribute(ce_boolean=True), "ce_boolean true."),
        ("ce-boolean-false", _attribute(ce_boolean=False), "ce_boolean false: the member is present with its default value."),
        ("ce-integer", _attribute(ce_integer=-(2**31)), "ce_integer at the int32 minimum."),
        ("ce-string", _attribute(ce_string="ünïcödé ✓"), "ce_string."),
        ("ce-bytes", _attribute(ce_bytes=bytes(range(256))), "ce_bytes with every byte value."),
        ("ce-uri", _attribute(ce_uri="urn:example:agents"), "ce_uri."),
        ("ce-uri-ref", _attribute(ce_uri_ref="#fragment"), "ce_uri_ref."),
        ("ce-timestamp", _attribute(ce_timestamp=_timestamp("2025-01-01T00:00:00.000000001Z")), "ce_timestamp with one nanosecond."),
        ("empty", AttributeValue(), "No member set (a writer must not produce it; readers see an attribute without a value)."),
    ]
    for name, value, description in cases:
        yield Vector(name, value, description, ("attributes",))


def _messages() -> Iterator[Vector]:
    events = {name: event for name, event, _, _ in _events()}
    for name in ("python-json", "python-protobuf", "dotnet-protobuf"):
        yield Vector(f"cloud-event-{name}", aw.Message(cloudEvent=events[name]), f"The cloudEvent member carrying the {name} event.", ("events",))
    requests = {v.name: v.message for v in _rpc_requests()}
    responses = {v.name: v.message for v in _rpc_responses()}
    yield Vector("request-python-json", aw.Message(request=requests["python-json"]), "The request member (Python worker).", ("rpc", "json"))
    yield Vector("request-dotnet-protobuf", aw.Message(request=requests["dotnet-protobuf"]), "The request member (.NET worker).", ("rpc", "protobuf"))
    yield Vector("response-python-json", aw.Message(response=responses["python-json"]), "The response member.", ("rpc", "json"))
    yield Vector("response-error", aw.Message(response=responses["error"]), "The response member with an error.", ("rpc", "error"))
    yield Vector("empty-request", aw.Message(request=aw.RpcRequest()), "The request member set but empty: 2 bytes on the wire.", ("presence", "empty"))
    yield Vector("no-member", aw.Message(), "No oneof member: zero bytes (hubs drop or reject it).", ("empty", "bad-input"))
    near = aw.RpcRequest(request_id="9", target=aw.AgentId(type="callee", key="k"))
    near.payload.CopyFrom(_payload(EncodedPayload("ChatMessage", "application/json", b"")))
    body_size = NEAR_ONE_MIB
    for _ in range(4):  # the length prefixes grow with the body; a few passes settle the exact size
        near.payload.data = p.sized_chat_body(body_size)
        body_size += NEAR_ONE_MIB - aw.Message(request=near).ByteSize()
    yield Vector("request-near-1mib", aw.Message(request=near), "An RpcRequest Message of just under 1 MiB (1 MiB - 512 bytes) serialized.", ("rpc", "json", "large"))
    nested_binary = _length_delimited(1, _with_unknown_tail(requests["python-json"]))  # Message.request = field 1
    yield Vector(
        "request-nested-unknown-fields",
        aw.Message.FromString(nested_binary),
        "Unknown fields inside the nested RpcRequest (not at the top level): a relaying host must keep them.",
        ("unknown-fields", "rpc"),
        binary=nested_binary,
    )


def _state() -> Iterator[Vector]:
    agent = aw.AgentId(type="assistant", key="default")
    yield Vector("basic", aw.SaveStateRequest(agentId=agent), "Ask an agent for its state.", ("control",))
    yield Vector("empty", aw.SaveStateRequest(), "No agent id.", ("empty",))
    yield Vector("state", aw.SaveStateResponse(state='{"turn": 3, "notes": ["é"]}'), "A state string, error absent.", ("control",))
    yield Vector("error", aw.SaveStateResponse(error="not supported"), "An error, no state.", ("control", "error"))
    yield Vector("empty-error", aw.SaveStateResponse(state="s", error=""), "The optional error present but empty (presence must survive).", ("presence", "empty"))
    yield Vector("empty", aw.SaveStateResponse(), "No fields set.", ("empty",))
    yield Vector("basic", aw.LoadStateRequest(agentId=agent, state='{"turn": 3}'), "Restore a state.", ("control",))
    yield Vector("empty", aw.LoadStateRequest(), "No fields set.", ("empty",))
    yield Vector("ok", aw.LoadStateResponse(), "Success: the optional error is absent.", ("control", "empty"))
    yield Vector("error", aw.LoadStateResponse(error="state does not parse ✗"), "An error.", ("control", "error", "unicode"))
    yield Vector("empty-error", aw.LoadStateResponse(error=""), "The optional error present but empty.", ("presence", "empty"))


def _control() -> Iterator[Vector]:
    def control(rpc_id: str, destination: str, inner: ProtoMessage | None, respond_to: str | None) -> aw.ControlMessage:
        message = aw.ControlMessage(rpc_id=rpc_id, destination=destination)
        if respond_to is not None:
            message.respond_to = respond_to
        if inner is not None:
            message.rpcMessage.Pack(inner, deterministic=True)
        return message

    agent = aw.AgentId(type="assistant", key="default")
    yield Vector(
        "save-state-request",
        control("r1", "agentid=assistant/default", aw.SaveStateRequest(agentId=agent), "clientid=client-a"),
        "A SaveStateRequest routed by agent id, with respond_to.",
        ("control",),
    )
    yield Vector(
        "save-state-response",
        control("r1", "clientid=client-a", aw.SaveStateResponse(state="{}"), None),
        "The answer, routed by client id; respond_to absent.",
        ("control",),
    )
    yield Vector(
        "load-state-request",
        control("r2", "agentid=assistant/default", aw.LoadStateRequest(agentId=agent, state="{}"), ""),
        "A LoadStateRequest with respond_to present but empty.",
        ("control", "presence"),
    )
    yield Vector("load-state-response", control("r2", "clientid=client-a", aw.LoadStateResponse(), None), "An empty LoadStateResponse in the Any.", ("control",))
    yield Vector("no-rpc-message", control("r3", "clientid=client-b", None, None), "No rpcMessage at all.", ("control", "empty"))
    yield Vector("empty", aw.ControlMessage(), "No fields set.", ("empty",))


SECTIONS: tuple[Callable[[], Iterator[Vector]], ...] = (
    _agent_ids, _payloads, _rpc_requests, _rpc_responses, _registration, _subscriptions,
    _messages, _state, _control, _cloud_events, _attribute_values,
)


def all_vectors() -> list[Vector]:
    """Every vector, sorted by id; raises ValueError on a duplicate id (a catalogue mistake)."""
    vectors = [vector for section in SECTIONS for vector in section()]
    ids = [v.id for v in vectors]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate golden vector ids: {duplicates}")
    return sorted(vectors, key=lambda v: v.id)
