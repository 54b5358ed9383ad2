"""Fuzzing the host with Hypothesis: random and mutated Message / ControlMessage frames, raw
undecodable bytes, and random unary requests, against one host started once per module.

After every example a separate healthy pair of clients must still complete a publish →
delivery, an RPC round trip and a control-channel hop, and the fuzzing call itself must
have ended, within its timeout, with a status the host documents (README, host section).
The host runs on its own event loop in a background thread so Hypothesis can drive plain
synchronous tests; every cross-thread wait is bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from concurrent.futures import Future
from typing import Any, Awaitable, Iterator, TypeVar

import grpc
import pytest
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import cloudevent_pb2 as ce
from pyruntime.host import AgentRpcHost, HostOptions
from tests.reliability.raw_worker import RawWorker, event_message, request_message, response_message

pytestmark = pytest.mark.slow

T = TypeVar("T")
MAX_MESSAGE = 16 * 1024  # the host's per-message limit here; gRPC's transport limit is 4x that
TRANSPORT_MAX = 4 * MAX_MESSAGE
EXAMPLES = 120
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
HEALTHY_TYPE = "fuzz-healthy"
HEALTHY_TOPIC = "fuzz-health-topic"
HEALTHY_SUB = "healthy-sub"
SERVICE = "/agents.AgentRpc/"


class LoopThread:
    """An asyncio loop in a daemon thread; ``run`` executes a coroutine there, boundedly."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-host-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 15.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class FuzzTarget:
    """The host under fuzz, the healthy pair that checks it after every example, and raw callables."""

    def __init__(self, interceptors: tuple[Any, ...] = (), extra_metadata: tuple[tuple[str, str], ...] = (),
                 probe_type: str = "", refusals: frozenset[grpc.StatusCode] = frozenset()) -> None:
        self.host = AgentRpcHost(
            "127.0.0.1:0",
            HostOptions(max_message_bytes=MAX_MESSAGE, rpc_timeout=2, registration_grace=1, send_timeout=2,
                        interceptors=interceptors),
        )
        self.counter = itertools.count()
        self.extra_metadata = extra_metadata  # e.g. a bearer token on every call
        self.probe_type = probe_type  # an unowned agent type the healthy clients may name
        self.refusals = refusals  # extra statuses a fuzz stream may end with (an installed guard's)
        self.stream_codes: dict[grpc.StatusCode, int] = {}
        self.last_details: str | None = None

    async def start(self) -> None:
        await self.host.start()
        options = [("grpc.max_send_message_length", 8 * TRANSPORT_MAX), ("grpc.use_local_subchannel_pool", 1)]
        self.channel = grpc.aio.insecure_channel(self.host.address, options=options)
        self.healthy_channel = grpc.aio.insecure_channel(self.host.address, options=options)
        self.receiver = RawWorker(self.healthy_channel, client_id="healthy-receiver", extra_metadata=self.extra_metadata)
        self.sender = RawWorker(self.healthy_channel, client_id="healthy-sender", extra_metadata=self.extra_metadata)
        await self.receiver.register(HEALTHY_TYPE)
        await self.receiver.subscribe(HEALTHY_TOPIC, HEALTHY_TYPE, sub_id=HEALTHY_SUB)
        await self.receiver.open(probe_type=self.probe_type)
        await self.sender.open(probe_type=self.probe_type)
        self.receiver_control = self.receiver.stub.OpenControlChannel(metadata=self.receiver.metadata)
        self.sender_control = self.sender.stub.OpenControlChannel(metadata=self.sender.metadata)
        # Raw-bytes callables: identity (de)serializers, so anything can be sent.
        self.raw_data = self.channel.stream_stream(SERVICE + "OpenChannel")
        self.raw_control = self.channel.stream_stream(SERVICE + "OpenControlChannel")
        self.raw_unary = {name: self.channel.unary_unary(SERVICE + name) for name in UNARY_TYPES}
        await self.control_hop(-1)  # the control streams are attached before fuzzing starts

    async def stop(self) -> None:
        for call in (self.receiver_control, self.sender_control):
            call.cancel()
        await self.receiver.close()
        await self.sender.close()
        await self.channel.close()
        await self.healthy_channel.close()
        await self.host.stop(0.5)

    # ----- the health check after every example ---------------------------------------
    async def probe(self) -> None:
        n = next(self.counter)
        event_id = f"probe-event-{n}"
        await self.sender.send(event_message(HEALTHY_TOPIC, "probe", {}, event_id=event_id))
        async with asyncio.timeout(5):
            while not ((m := await self.receiver.next()).HasField("cloudEvent") and m.cloudEvent.id == event_id):
                pass  # fuzz frames may also publish to this topic: skip those
        marker = f'{{"probe": {n}}}'.encode()
        await self.sender.send(request_message(f"probe-rpc-{n}", HEALTHY_TYPE, body=marker))
        async with asyncio.timeout(5):
            while True:
                m = await self.receiver.next()
                if m.HasField("request") and m.request.payload.data == marker:
                    await self.receiver.send(response_message(m.request.request_id, b'{"ok": 1}'))
                    break
            while True:
                response = await self.sender.next_response()
                if response.request_id == f"probe-rpc-{n}":
                    assert response.error == "", response.error
                    break
        await self.control_hop(n)

    async def control_hop(self, n: int) -> None:
        rpc_id = f"probe-control-{n}"
        await self.sender_control.write(
            pb.ControlMessage(rpc_id=rpc_id, destination="clientid=healthy-receiver", respond_to="clientid=healthy-sender")
        )
        async with asyncio.timeout(5):
            while (await self.receiver_control.read()).rpc_id != rpc_id:
                pass

    # ----- fuzz actions -----------------------------------------------------------------
    async def stream_frames(self, kind: str, client_id: str | None, frames: list[bytes]) -> tuple[grpc.StatusCode, list[bytes]]:
        """Open one raw stream, send ``frames``, half-close, read everything back; status and frames received."""
        opener = self.raw_data if kind == "data" else self.raw_control
        metadata = ((("client-id", client_id),) if client_id is not None else ()) + self.extra_metadata
        call = opener(metadata=metadata, timeout=10)
        received: list[bytes] = []
        if client_id is None:
            # The host refuses such a stream before reading a frame; writing into the refusal
            # would only race gRPC's client core (which then reports its own INTERNAL).
            return await asyncio.wait_for(call.code(), 10), received
        try:
            async with asyncio.timeout(10):
                for frame in frames:
                    if call.done():
                        break
                    await call.write(frame)
                if not call.done():
                    await call.done_writing()
                while (frame := await call.read()) is not grpc.aio.EOF:
                    received.append(frame)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass
        code = await asyncio.wait_for(call.code(), 10)
        self.last_details = await call.details()
        return code, received

    async def unary(self, method: str, client_id: str | None, body: bytes) -> grpc.StatusCode:
        metadata = ((("client-id", client_id),) if client_id is not None else ()) + self.extra_metadata
        try:
            await self.raw_unary[method](body, metadata=metadata, timeout=5)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK


# What grpc.aio's client core says when a write races the server ending the call early. It is the
# client's own report (the host never sends it); only a guard that cuts streams makes that race likely.
CLIENT_CORE_RACE = "Internal error from Core"

UNARY_TYPES: dict[str, type] = {
    "RegisterAgent": pb.RegisterAgentTypeRequest,
    "AddSubscription": pb.AddSubscriptionRequest,
    "RemoveSubscription": pb.RemoveSubscriptionRequest,
    "GetSubscriptions": pb.GetSubscriptionsRequest,
}


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[LoopThread, FuzzTarget]]:
    logging.getLogger("pyruntime.host").setLevel(logging.ERROR)  # thousands of expected warnings
    loop = LoopThread()
    fuzz = FuzzTarget()
    try:
        loop.run(fuzz.start())
        yield loop, fuzz
        # The host never crashed and still drains cleanly.
        loop.run(fuzz.probe())
    finally:
        loop.run(fuzz.stop())
        loop.close()
        logging.getLogger("pyruntime.host").setLevel(logging.NOTSET)


# ----- strategies ---------------------------------------------------------------------
names = st.one_of(
    st.sampled_from([HEALTHY_TYPE, HEALTHY_TOPIC, HEALTHY_SUB, "fuzz-t", "", "a:b", "x/y", "healthy-receiver"]),
    st.text(max_size=24),
)
client_ids = st.one_of(
    st.none(),
    # Printable ASCII only (gRPC refuses other metadata values client-side); "fuzz-" keeps the
    # healthy pair's ids out of reach, so fuzzing never replaces their streams by design.
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=16).map(lambda s: "fuzz-" + s),
)
payloads = st.builds(
    pb.Payload,
    data_type=names,
    data_content_type=st.sampled_from(["application/json", "application/x-protobuf", ""]) | st.text(max_size=8),
    data=st.binary(max_size=64),
)
agent_ids = st.builds(pb.AgentId, type=names, key=names)


@st.composite
def rpc_requests(draw: st.DrawFn) -> pb.RpcRequest:
    request = pb.RpcRequest(request_id=draw(names), method=draw(names), payload=draw(payloads))
    if draw(st.booleans()):
        request.target.CopyFrom(draw(agent_ids))
    if draw(st.booleans()):
        request.source.CopyFrom(draw(agent_ids))
    for key, value in draw(st.dictionaries(names, names, max_size=3)).items():
        request.metadata[key] = value
    return request


@st.composite
def cloud_events(draw: st.DrawFn) -> ce.CloudEvent:
    event = ce.CloudEvent(id=draw(names), source=draw(names), spec_version=draw(names), type=draw(names))
    for key in draw(st.lists(names, max_size=4)):
        attr = event.attributes[key]
        choice = draw(st.integers(0, 3))
        if choice == 0:
            attr.ce_string = draw(names)
        elif choice == 1:
            attr.ce_integer = draw(st.integers(-(2**31), 2**31 - 1))
        elif choice == 2:
            attr.ce_bytes = draw(st.binary(max_size=16))
        else:
            attr.ce_boolean = draw(st.booleans())
    data = draw(st.integers(0, 3))
    if data == 1:
        event.binary_data = draw(st.binary(max_size=128))
    elif data == 2:
        event.text_data = draw(st.text(max_size=64))
    elif data == 3:
        event.proto_data.CopyFrom(any_pb2.Any(type_url=draw(names), value=draw(st.binary(max_size=64))))
    return event


@st.composite
def messages(draw: st.DrawFn) -> pb.Message:
    kind = draw(st.sampled_from(["request", "response", "cloudEvent", "cloudEvent-healthy", "empty"]))
    if kind == "request":
        return pb.Message(request=draw(rpc_requests()))
    if kind == "response":
        return pb.Message(
            response=pb.RpcResponse(request_id=draw(names), payload=draw(payloads), error=draw(names))
        )
    if kind == "cloudEvent":
        return pb.Message(cloudEvent=draw(cloud_events()))
    if kind == "cloudEvent-healthy":  # routable: reaches the healthy receiver, which must cope
        return event_message(HEALTHY_TOPIC, draw(names), {"fuzz": draw(st.text(max_size=16))}, event_id=draw(names))
    return pb.Message()


@st.composite
def control_messages(draw: st.DrawFn) -> pb.ControlMessage:
    destinations = st.sampled_from([
        "clientid=healthy-sender", "clientid=", "clientid=nobody", f"agentid={HEALTHY_TYPE}/k",
        "agentid=", "agentid=x", "agentid=/k", "nonsense", "",
    ]) | st.text(max_size=24)
    message = pb.ControlMessage(
        rpc_id=draw(names), destination=draw(destinations), respond_to=draw(st.none() | destinations) or None
    )
    if draw(st.booleans()):
        inner = draw(st.sampled_from([pb.SaveStateRequest(agentId=draw(agent_ids)), pb.LoadStateResponse(error="x")]))
        message.rpcMessage.Pack(inner)
    elif draw(st.booleans()):
        message.rpcMessage.CopyFrom(any_pb2.Any(type_url=draw(names), value=draw(st.binary(max_size=32))))
    return message


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> bytes:
    """A valid frame's bytes, then flipped, truncated, spliced or extended."""
    data = bytearray(draw(valid).SerializeToString())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "duplicate"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        elif op == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            data += data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def frames_of(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        valid.map(lambda m: m.SerializeToString()),
        mutated(valid),
        st.binary(max_size=256),  # raw, mostly undecodable
        # over the host's limit (refused per message) or over gRPC's (ends the stream)
        st.sampled_from([MAX_MESSAGE + 100, TRANSPORT_MAX + 100]).flatmap(
            lambda size: valid.map(lambda m: _padded(m, size))
        ),
    )


def _padded(message: Any, size: int) -> bytes:
    """``message`` with an unknown length-delimited field (number 999) making it ``size`` bytes or more."""
    body = message.SerializeToString()
    filler = size - len(body)
    tag = (999 << 3) | 2
    varint = bytearray()
    for value in (tag, filler):
        while value >= 0x80:
            varint.append((value & 0x7F) | 0x80)
            value >>= 7
        varint.append(value)
    return body + bytes(varint) + b"\0" * max(filler, 0)


# ----- the tests ------------------------------------------------------------------------
def check_stream_outcome(fuzz: FuzzTarget, client_id: str | None, frames: list[bytes], code: grpc.StatusCode,
                         received: list[bytes], decode: Any) -> None:
    fuzz.stream_codes[code] = fuzz.stream_codes.get(code, 0) + 1
    if client_id is None:
        assert code == grpc.StatusCode.INVALID_ARGUMENT, code
        return
    allowed = {grpc.StatusCode.OK, *fuzz.refusals}
    if fuzz.refusals and code == grpc.StatusCode.INTERNAL and fuzz.last_details == CLIENT_CORE_RACE:
        return  # our own next write raced a guard's refusal; the client core reports that, not the host
    if any(len(frame) > TRANSPORT_MAX for frame in frames):
        allowed.add(grpc.StatusCode.RESOURCE_EXHAUSTED)  # gRPC's own limit ends that one stream
    assert code in allowed, (code, fuzz.last_details, [len(f) for f in frames])
    for frame in received:  # whatever the host writes back is a well-formed frame
        decode(frame)


@FUZZ_SETTINGS
@given(client_id=client_ids, frames=st.lists(frames_of(messages()), min_size=1, max_size=5))
def fuzz_data_stream(target: tuple[LoopThread, FuzzTarget], client_id: str | None, frames: list[bytes]) -> None:
    loop, fuzz = target
    code, received = loop.run(fuzz.stream_frames("data", client_id, frames))
    check_stream_outcome(fuzz, client_id, frames, code, received, pb.Message.FromString)
    for frame in received:  # only host-made error replies can come back on a fuzz stream
        message = pb.Message.FromString(frame)
        assert message.HasField("response") and message.response.error, message
    loop.run(fuzz.probe())


@FUZZ_SETTINGS
@given(client_id=client_ids, frames=st.lists(frames_of(control_messages()), min_size=1, max_size=5))
def fuzz_control_stream(target: tuple[LoopThread, FuzzTarget], client_id: str | None, frames: list[bytes]) -> None:
    loop, fuzz = target
    code, received = loop.run(fuzz.stream_frames("control", client_id, frames))
    check_stream_outcome(fuzz, client_id, frames, code, received, pb.ControlMessage.FromString)
    loop.run(fuzz.probe())


def test_fuzzed_data_stream_frames(target: tuple[LoopThread, FuzzTarget]) -> None:
    stats = target[1].host.stats
    before = stats.as_dict()
    fuzz_data_stream(target)
    grew = {k for k, v in stats.as_dict().items() if v > before[k]}
    # The run reached the host's refusal paths, not just the happy one.
    assert {"frames_undecodable", "frames_oversize", "messages_empty", "rpc_errors_sent", "events_received"} <= grew, grew


def test_fuzzed_control_stream_frames(target: tuple[LoopThread, FuzzTarget]) -> None:
    stats = target[1].host.stats
    before = stats.as_dict()
    fuzz_control_stream(target)
    grew = {k for k, v in stats.as_dict().items() if v > before[k]}
    assert {"frames_undecodable", "frames_oversize", "control_dropped", "control_forwarded"} <= grew, grew


def unary_bodies(method: str) -> st.SearchStrategy[bytes]:
    request_type = UNARY_TYPES[method]
    if method == "RegisterAgent":
        valid = st.builds(pb.RegisterAgentTypeRequest, type=names)
    elif method == "AddSubscription":
        valid = st.builds(
            lambda sid, topic, agent, prefix, kind: pb.AddSubscriptionRequest(
                subscription=pb.Subscription(
                    id=sid,
                    **({"typeSubscription": pb.TypeSubscription(topic_type=topic, agent_type=agent)} if kind == 0 else
                       {"typePrefixSubscription": pb.TypePrefixSubscription(topic_type_prefix=prefix, agent_type=agent)}
                       if kind == 1 else {}),
                )
            ) if kind < 3 else pb.AddSubscriptionRequest(),
            names, names, names, names, st.integers(0, 3),
        )
    elif method == "RemoveSubscription":
        valid = st.builds(pb.RemoveSubscriptionRequest, id=names)
    else:
        valid = st.just(request_type())
    return st.one_of(valid.map(lambda m: m.SerializeToString()), mutated(valid), st.binary(max_size=128))


UNARY_ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
}

UNDECODABLE_UNARY = {grpc.StatusCode.INVALID_ARGUMENT}


@FUZZ_SETTINGS
@given(data=st.data(), method=st.sampled_from(sorted(UNARY_TYPES)), client_id=client_ids)
def test_fuzzed_unary_requests(target: tuple[LoopThread, FuzzTarget], data: st.DataObject, method: str,
                               client_id: str | None) -> None:
    loop, fuzz = target
    body = data.draw(unary_bodies(method))
    code = loop.run(fuzz.unary(method, client_id, body))
    try:
        UNARY_TYPES[method].FromString(body)
        decodable = True
    except DecodeError:
        decodable = False
    if not decodable:
        # The host parses unary bodies itself: a bad body is INVALID_ARGUMENT (not gRPC's UNKNOWN
        # plus a traceback in the log, which the fuzzer found before the host took raw bytes).
        assert code in UNDECODABLE_UNARY, code
    elif client_id is None:
        assert code == grpc.StatusCode.INVALID_ARGUMENT, code
    else:
        assert code in UNARY_ALLOWED, code
    # The healthy client's type and subscription survive whatever was sent.
    assert [c.client_id for c in fuzz.host.routing.owners(HEALTHY_TYPE)] == ["healthy-receiver"]
    assert fuzz.host.routing.subscription_owner(HEALTHY_SUB) == "healthy-receiver"
    loop.run(fuzz.probe())
