"""GrpcWorkerRuntime on the wire: payload formats, replies, errors, undecodable input, delivery rules."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from google.protobuf import any_pb2

from pyruntime import AgentId, GrpcWorkerRuntime, PayloadError, RecipientNotFound, RpcError, TopicId
from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import cloudevent_pb2
from pyruntime.worker.agent import Agent, rpc
from pyruntime.worker.context import MessageContext

from .messages import Answer, Ask, Chain, EchoAgent, Fail, Note, ProtoNote, Recorder
from .raw_peer import RawPeer


def attrs(event: cloudevent_pb2.CloudEvent) -> dict[str, str]:
    return {name: value.ce_string for name, value in event.attributes.items()}


@pytest.fixture
async def echo_worker(address: str) -> GrpcWorkerRuntime:
    worker = GrpcWorkerRuntime(address, rpc_timeout=5)
    await EchoAgent.register(worker, "alpha")
    await worker.start()
    yield worker
    await worker.stop()


async def test_published_events_on_the_wire_json_and_protobuf(address: str) -> None:
    async with RawPeer(address) as spy:
        await spy.register("spy", "notes")
        worker = GrpcWorkerRuntime(address, payload_format="json", payload_formats={"agents.AgentId": "protobuf"})
        async with worker:
            await worker.publish_message(Note("j"), TopicId("notes", "s"), sender=AgentId("alpha", "s"))
            event = await spy.next("cloudEvent")
            assert event.WhichOneof("data") == "binary_data" and json.loads(event.binary_data) == {"text": "j", "hops": 0}
            assert attrs(event) == {
                "datacontenttype": "application/json", "dataschema": "Note",
                "agagentsendertype": "alpha", "agagentsenderkey": "s", "agmsgkind": "publish",
            }
            assert event.spec_version == "1.0" and event.type == "notes" and event.source == "s"
            # JSON is this runtime's format, but a protobuf message type can travel as JSON too.
            await worker.publish_message(ProtoNote(type="pj"), TopicId("notes", "s"))
            event = await spy.next("cloudEvent")
            assert attrs(event)["datacontenttype"] == "application/json"
            assert json.loads(event.binary_data) == {"type": "pj"}
            assert attrs(event)["agagentsendertype"] == "unknown"  # anonymous, as AutoGen writes it
            # The per-type override sends agents.AgentId as protobuf: an Any in proto_data.
            await worker.publish_message(pb.AgentId(type="t", key="k"), TopicId("notes", "s"))
            event = await spy.next("cloudEvent")
            assert event.WhichOneof("data") == "proto_data"
            assert event.proto_data.type_url == "type.googleapis.com/agents.AgentId"
            assert attrs(event)["dataschema"] == "agents.AgentId"
        proto_worker = GrpcWorkerRuntime(address, payload_format="protobuf")
        async with proto_worker:
            await proto_worker.publish_message(ProtoNote(type="pp"), TopicId("notes", "s"))
            event = await spy.next("cloudEvent")
            assert attrs(event)["datacontenttype"] == "application/x-protobuf"
            unpacked = ProtoNote()
            assert event.proto_data.Unpack(unpacked) and unpacked.type == "pp"
            # A dataclass has no protobuf form: it stays JSON in a protobuf runtime.
            await proto_worker.publish_message(Note("still json"), TopicId("notes", "s"))
            event = await spy.next("cloudEvent")
            assert attrs(event)["datacontenttype"] == "application/json"


async def test_requests_from_a_raw_peer_get_proper_replies(echo_worker: GrpcWorkerRuntime, address: str) -> None:
    async with RawPeer(address) as spy:
        await spy.register("spy")

        def request(rid: str, type_name: str, content_type: str, data: bytes, target: str = "alpha") -> pb.RpcRequest:
            return pb.RpcRequest(
                request_id=rid, target=pb.AgentId(type=target, key="k"), source=pb.AgentId(type="spy", key="k"),
                payload=pb.Payload(data_type=type_name, data_content_type=content_type, data=data),
            )

        # JSON request → JSON reply (what AutoGen's worker sends and expects).
        reply = await spy.call(request("1", "Ask", "application/json", b'{"text": "q"}'))
        assert reply.error == "" and reply.payload.data_content_type == "application/json"
        assert json.loads(reply.payload.data) == {"text": "alpha/k:q:spy/k"}
        # Protobuf request (an Any, as .NET sends) → protobuf reply in the same format.
        packed = any_pb2.Any()
        packed.Pack(ProtoNote(type="x"))
        reply = await spy.call(request("2", "agents.RegisterAgentTypeRequest", "application/x-protobuf", packed.SerializeToString()))
        assert reply.error == "" and reply.payload.data_content_type == "application/x-protobuf"
        out = any_pb2.Any.FromString(reply.payload.data)
        answer = ProtoNote()
        assert out.Unpack(answer) and answer.type == "x@alpha/k"
        # The same protobuf type sent as JSON gets a JSON reply.
        reply = await spy.call(request("3", "agents.RegisterAgentTypeRequest", "application/json", b'{"type": "y"}'))
        assert json.loads(reply.payload.data) == {"type": "y@alpha/k"}
        # None → an empty reply: no payload, no error.
        reply = await spy.call(request("4", "Nothing", "application/json", b"{}"))
        assert reply.error == "" and not reply.HasField("payload")
        # Handler raises → the exception text.
        reply = await spy.call(request("5", "Fail", "application/json", b'{"reason": "broken"}'))
        assert reply.error == "broken" and not reply.HasField("payload")
        # Undecodable: unknown type, and bytes that do not parse; the error names type and content type.
        reply = await spy.call(request("6", "Mystery", "application/json", b"{}"))
        assert "Mystery" in reply.error and "application/json" in reply.error
        reply = await spy.call(request("7", "Ask", "application/json", b"\xff not json"))
        assert "'Ask'" in reply.error and "application/json" in reply.error
        # The stream survived all of that.
        reply = await spy.call(request("8", "Ask", "application/json", b'{"text": "again"}'))
        assert json.loads(reply.payload.data) == {"text": "alpha/k:again:spy/k"}


async def test_dotnet_style_and_broken_events(echo_worker: GrpcWorkerRuntime, address: str, recorder: Recorder,
                                              caplog: pytest.LogCaptureFixture) -> None:
    async with RawPeer(address) as peer:
        # A .NET producer: proto_data, empty spec_version, no sender attributes.
        dotnet = cloudevent_pb2.CloudEvent(id="e1", source="s", type="notes", spec_version="")
        dotnet.proto_data.Pack(ProtoNote(type="from-dotnet"))
        dotnet.attributes["dataschema"].ce_string = "agents.RegisterAgentTypeRequest"
        dotnet.attributes["datacontenttype"].ce_string = "application/x-protobuf"
        # Undecodable: an unknown type, and JSON that does not fit the class.
        unknown = cloudevent_pb2.CloudEvent(id="e2", source="s", type="notes", spec_version="1.0", binary_data=b"{}")
        unknown.attributes["dataschema"].ce_string = "Mystery"
        unknown.attributes["datacontenttype"].ce_string = "application/json"
        broken = cloudevent_pb2.CloudEvent(id="e3", source="s", type="notes", spec_version="1.0", binary_data=b"SECRET-PAYLOAD")
        broken.attributes["dataschema"].ce_string = "Note"
        broken.attributes["datacontenttype"].ce_string = "application/json"
        # JSON in text_data (a CloudEvents SDK producer) is accepted too.
        text = cloudevent_pb2.CloudEvent(id="e5", source="s", type="notes", spec_version="1.0",
                                         text_data='{"text": "as text", "hops": 0}')
        text.attributes["dataschema"].ce_string = "Note"
        text.attributes["datacontenttype"].ce_string = "application/json"
        after = cloudevent_pb2.CloudEvent(id="e4", source="s", type="notes", spec_version="1.0",
                                          binary_data=b'{"text": "after", "hops": 0}')
        after.attributes["dataschema"].ce_string = "Note"
        after.attributes["datacontenttype"].ce_string = "application/json"
        with caplog.at_level(logging.WARNING, logger="pyruntime.worker"):
            for event in (dotnet, unknown, broken, text, after):
                await peer.send(pb.Message(cloudEvent=event))
            items = await recorder.wait_for(3)
        assert sorted(items) == sorted([
            ("alpha/s", ("proto", "from-dotnet", None, False)),
            ("alpha/s", ("note", "as text", None, False)),
            ("alpha/s", ("note", "after", None, False)),
        ])
        lines = [r.getMessage() for r in caplog.records if "not decodable" in r.getMessage()]
        assert len(lines) == 2
        assert "Mystery" in lines[0] and "application/json" in lines[0]
        assert "Note" in lines[1] and "SECRET-PAYLOAD" not in lines[1]


async def test_errors_seen_by_the_caller(echo_worker: GrpcWorkerRuntime, address: str) -> None:
    async with RawPeer(address) as spy:
        await spy.register("spy")
        caller = GrpcWorkerRuntime(address, rpc_timeout=5)
        caller.add_message_types(Answer)
        async with caller:
            with pytest.raises(RpcError, match="^boom$"):
                await caller.send_message(Fail("boom"), AgentId("alpha", "k"))
            with pytest.raises(RecipientNotFound, match="gamma"):
                await caller.send_message(Ask("x"), AgentId("gamma", "k"))
            # An undecodable reply is a PayloadError, and the stream keeps working.
            call = asyncio.create_task(caller.send_message(Ask("to spy"), AgentId("spy", "k")))
            request = await spy.next("request")
            assert request.payload.data_type == "Ask" and request.source.type == ""  # anonymous: no source
            await spy.send(pb.Message(response=pb.RpcResponse(
                request_id=request.request_id, payload=pb.Payload(data_type="Unknown", data_content_type="application/json", data=b"{}"))))
            with pytest.raises(PayloadError, match="Unknown"):
                await asyncio.wait_for(call, 5)
            assert (await caller.send_message(Ask("still"), AgentId("alpha", "k"))).text == "alpha/k:still:anonymous"
            # Request ids are unique per worker (a host keying by id alone cannot mix up callers).
            other = GrpcWorkerRuntime(address, rpc_timeout=5)
            async with other:
                for runtime in (caller, other):
                    task = asyncio.create_task(runtime.send_message(Ask("id"), AgentId("spy", "k"), timeout=0.5))
                    seen = await spy.next("request")
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    if runtime is caller:
                        first_id = seen.request_id
                assert seen.request_id != first_id


async def test_rpc_formats_between_workers(address: str) -> None:
    alpha = GrpcWorkerRuntime(address, payload_format="protobuf")
    beta = GrpcWorkerRuntime(address, payload_format="json")
    await EchoAgent.register(alpha, "alpha")
    await EchoAgent.register(beta, "beta")
    async with alpha, beta:
        # protobuf request from alpha, JSON request from beta: both answered in kind.
        assert (await alpha.send_message(ProtoNote(type="a"), AgentId("beta", "k"))).type == "a@beta/k"
        assert (await beta.send_message(ProtoNote(type="b"), AgentId("alpha", "k"))).type == "b@alpha/k"
        # An A→B→A→B chain across the two workers.
        reply = await asyncio.wait_for(alpha.send_message(Chain(depth=5), AgentId("alpha", "k")), 10)
        assert reply.route == ["alpha/k", "beta/k"] * 3
        # Concurrent chains do not block each other.
        replies = await asyncio.wait_for(
            asyncio.gather(*(beta.send_message(Chain(depth=3), AgentId("alpha", str(i))) for i in range(20))), 10)
        assert all(len(r.route) == 4 for r in replies)


async def test_no_self_delivery_and_exactly_once_locally(address: str, recorder: Recorder) -> None:
    worker = GrpcWorkerRuntime(address)
    await EchoAgent.register(worker, "alpha")
    await EchoAgent.register(worker, "beta")
    async with worker:
        await worker.publish_message(Note("mine"), TopicId("notes", "s"), sender=AgentId("alpha", "s"))
        await worker.publish_message(Note("anon"), TopicId("notes", "s"))
        items = await recorder.wait_for(3)
        await asyncio.sleep(0.2)  # time for a duplicate or a self-delivery to show up
        assert sorted(map(repr, recorder.items)) == sorted(map(repr, [
            ("beta/s", ("note", "mine", "alpha/s", False)),
            ("alpha/s", ("note", "anon", None, False)),
            ("beta/s", ("note", "anon", None, False)),
        ]))
        assert len(items) == 3


async def test_timeout_and_cancellation_over_grpc(echo_worker: GrpcWorkerRuntime, address: str) -> None:
    from pyruntime import CancellationToken, RpcCancelled, RpcTimeout

    from .messages import Slow

    caller = GrpcWorkerRuntime(address, rpc_timeout=0.3)
    caller.add_message_types(Answer)
    async with caller:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RpcTimeout, match=r"RPC to alpha/k: no reply within 0.3 s"):
            await caller.send_message(Slow(3), AgentId("alpha", "k"))  # the runtime's default timeout
        assert loop.time() - started < 2
        token = CancellationToken()
        loop.call_later(0.1, token.cancel)
        with pytest.raises(RpcCancelled):
            await caller.send_message(Slow(3), AgentId("alpha", "k"), timeout=None, cancellation=token)
        # Late replies to abandoned calls are dropped; the next call is answered normally.
        assert (await caller.send_message(Ask("next"), AgentId("alpha", "k"))).text == "alpha/k:next:anonymous"
        assert not caller._pending


async def test_rpc_handler_notices_its_runtime_stopping(address: str) -> None:
    """``ctx.cancellation`` of a remote RPC handler fires when the callee's runtime stops."""
    noticed = asyncio.Event()
    started = asyncio.Event()

    class Waiter(Agent):
        @rpc
        async def wait(self, message: Ask, ctx: MessageContext) -> Answer:
            ctx.cancellation.add_callback(noticed.set)
            started.set()
            await asyncio.sleep(30)
            return Answer(text="never")

    callee = GrpcWorkerRuntime(address, rpc_timeout=5)
    await Waiter.register(callee, "waiter")
    caller = GrpcWorkerRuntime(address, rpc_timeout=5)
    caller.add_message_types(Answer)
    await callee.start()
    async with caller:
        call = asyncio.ensure_future(caller.send_message(Ask("x"), AgentId("waiter", "k")))
        await asyncio.wait_for(started.wait(), 5)
        assert not noticed.is_set()
        await asyncio.wait_for(callee.stop(), 5)
        assert noticed.is_set()
        # The caller is told, not left waiting: the host fails the call when the callee leaves.
        with pytest.raises(RpcError):
            await asyncio.wait_for(call, 5)


async def test_host_refusals_are_clear_and_roll_back(echo_worker: GrpcWorkerRuntime, address: str) -> None:
    from pyruntime import RegistrationError, SubscriptionError, TypeSubscription

    other = GrpcWorkerRuntime(address)
    async with other:
        with pytest.raises(RegistrationError, match="host refused agent type 'alpha'"):
            await EchoAgent.register(other, "alpha")
        assert other.subscriptions() == []  # the direct-message subscription was rolled back too
        await EchoAgent.register(other, "beta")  # the runtime is still usable
        # @subscribe("notes") already added (notes → beta): a second one is refused before it is sent.
        with pytest.raises(SubscriptionError, match="duplicates"):
            await other.add_subscription(TypeSubscription(topic_type="notes", agent_type="beta", id="x"))
        with pytest.raises(SubscriptionError, match="no subscription with id"):
            await other.remove_subscription("never-added")
