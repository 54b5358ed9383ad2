"""The recording proxy itself, against a real scripted upstream server: status, metadata, deadlines, order, cancellation."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import grpc
import pytest

from conformance.recorder import RecordingProxy
from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc as pb_grpc
from tests.recorder.conftest import ProxyFactory
from tests.recorder.scripted_upstream import scripted_upstream

WAIT = 5.0
GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
CLIENT = (("client-id", "client-a"),)


def _event(kind: str, event_id: str = "e") -> pb.Message:
    message = pb.Message()
    message.cloudEvent.id, message.cloudEvent.type, message.cloudEvent.source = event_id, kind, "s"
    return message


async def test_unary_error_status_details_and_trailers_reach_the_caller(start_proxy: ProxyFactory) -> None:
    async with scripted_upstream() as (upstream, _):
        proxy = await start_proxy(upstream)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            call = pb_grpc.AgentRpcStub(channel).RegisterAgent(pb.RegisterAgentTypeRequest(type="bad"), metadata=CLIENT, timeout=WAIT)
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await call
            assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert failure.value.details() == "bad type ✗"
            assert ("x-reason", "bad-type") in tuple(failure.value.trailing_metadata())
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await pb_grpc.AgentRpcStub(channel).RemoveSubscription(pb.RemoveSubscriptionRequest(id="x"), metadata=CLIENT, timeout=WAIT)
            assert unknown.value.code() == grpc.StatusCode.UNKNOWN and "Subscription does not exist" in unknown.value.details()
        calls = [e for e in proxy.recording.exchanges if e.kind == "call"]
        assert [(c.stream, c.client_id, c.code) for c in calls] == [
            ("RegisterAgent", "client-a", "INVALID_ARGUMENT"),
            ("RemoveSubscription", "client-a", "UNKNOWN"),
        ]
        assert calls[0].details == "bad type ✗" and calls[0].response is None


async def test_request_metadata_goes_up_and_response_metadata_comes_back(start_proxy: ProxyFactory) -> None:
    async with scripted_upstream() as (upstream, servicer):
        proxy = await start_proxy(upstream)
        metadata = (("client-id", "client-a"), ("authorization", "Bearer t0k"), ("x-trace-bin", b"\x00\x01\xff"))
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            call = pb_grpc.AgentRpcStub(channel).RegisterAgent(pb.RegisterAgentTypeRequest(type="ok"), metadata=metadata, timeout=WAIT)
            assert await call == pb.RegisterAgentTypeResponse()
            assert ("x-header", "h") in tuple(await call.initial_metadata())
            assert ("x-answer", "42") in tuple(await call.trailing_metadata())
        seen = servicer.observed.metadata[0]
        assert seen["client-id"] == "client-a" and seen["authorization"] == "Bearer t0k" and seen["x-trace-bin"] == b"\x00\x01\xff"


async def test_the_callers_deadline_goes_upstream(start_proxy: ProxyFactory) -> None:
    async with scripted_upstream() as (upstream, servicer):
        proxy = await start_proxy(upstream)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            stub = pb_grpc.AgentRpcStub(channel)
            request = pb.AddSubscriptionRequest(subscription=pb.Subscription(id="slow"))
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await stub.AddSubscription(request, metadata=CLIENT, timeout=0.3)
            assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # The upstream saw the shortened deadline and its handler was cancelled, not left running.
            await asyncio.wait_for(servicer.observed.call_cancelled.wait(), WAIT)
        assert servicer.observed.time_remaining[0] is not None and servicer.observed.time_remaining[0] < 0.5


async def test_stream_order_is_kept_in_both_directions_and_in_the_recording(start_proxy: ProxyFactory) -> None:
    count = 300
    async with scripted_upstream() as (upstream, _):
        proxy = await start_proxy(upstream)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            call = pb_grpc.AgentRpcStub(channel).OpenChannel(metadata=CLIENT)
            assert ("x-stream", "open") not in tuple()  # headers come with the first message

            async def write_all() -> None:
                for n in range(count):
                    await call.write(_event("echo", f"e{n}"))

            writer = asyncio.create_task(write_all())
            received = [(await asyncio.wait_for(call.read(), WAIT)).cloudEvent.id for _ in range(count)]
            await asyncio.wait_for(writer, WAIT)
            assert ("x-stream", "open") in tuple(await call.initial_metadata())
            call.cancel()
        assert received == [f"e{n}" for n in range(count)]
        await proxy.stop(grace=0.1)
        exchanges = proxy.recording.exchanges
        for kind in ("send", "receive"):
            ids = [pb.Message.FromString(e.data).cloudEvent.id for e in exchanges if e.kind == kind]
            assert ids == [f"e{n}" for n in range(count)]
        assert all(e.client_id == "client-a" for e in exchanges)
        assert [e.seq for e in exchanges] == sorted(e.seq for e in exchanges)
        assert all(a.at <= b.at for a, b in zip(exchanges, exchanges[1:]))


async def test_an_upstream_stream_error_reaches_the_client(start_proxy: ProxyFactory) -> None:
    async with scripted_upstream() as (upstream, _):
        proxy = await start_proxy(upstream)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            call = pb_grpc.AgentRpcStub(channel).OpenChannel(metadata=CLIENT)
            await call.write(_event("echo", "before"))
            assert (await asyncio.wait_for(call.read(), WAIT)).cloudEvent.id == "before"
            await call.write(_event("fail"))
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await asyncio.wait_for(call.read(), WAIT)
            assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION and failure.value.details() == "told to fail"
        ends = [e for e in proxy.recording.exchanges if e.kind == "end"]
        assert [(e.code, e.details) for e in ends] == [("FAILED_PRECONDITION", "told to fail")]


async def test_an_upstream_ok_end_and_its_trailers_reach_the_client(start_proxy: ProxyFactory) -> None:
    async with scripted_upstream() as (upstream, _):
        proxy = await start_proxy(upstream)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            call = pb_grpc.AgentRpcStub(channel).OpenChannel(metadata=CLIENT)
            await call.write(_event("end"))
            assert await asyncio.wait_for(call.read(), WAIT) is grpc.aio.EOF
            assert await call.code() == grpc.StatusCode.OK
            assert ("x-trailer", "bye") in tuple(await call.trailing_metadata())
        assert [(e.kind, e.code) for e in proxy.recording.exchanges if e.kind in ("end", "close")] == [("end", "OK")]


async def test_a_stream_closed_mid_way_is_cancelled_upstream_and_recorded(start_proxy: ProxyFactory) -> None:
    async with scripted_upstream() as (upstream, servicer):
        proxy = await start_proxy(upstream)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            stub = pb_grpc.AgentRpcStub(channel)
            first, second = stub.OpenChannel(metadata=CLIENT), stub.OpenChannel(metadata=(("client-id", "client-b"),))
            for call, name in ((first, "a"), (second, "b")):
                await call.write(_event("echo", name))
                assert (await asyncio.wait_for(call.read(), WAIT)).cloudEvent.id == name
            first.cancel()
            await asyncio.wait_for(servicer.observed.stream_cancelled.wait(), WAIT)
            # The other stream is untouched.
            await second.write(_event("echo", "b2"))
            assert (await asyncio.wait_for(second.read(), WAIT)).cloudEvent.id == "b2"
            second.cancel()
        closes = []
        for _ in range(100):  # the proxy records the close when its handler sees the cancellation (bounded wait)
            closes = [e.client_id for e in proxy.recording.exchanges if e.kind == "close"]
            if len(closes) == 2:
                break
            await asyncio.sleep(0.02)
        assert closes == ["client-a", "client-b"]


async def test_bytes_are_relayed_untouched_including_unknown_fields(start_proxy: ProxyFactory) -> None:
    """A golden vector with unknown fields inside a nested message arrives and echoes back byte for byte."""
    raw = (GOLDEN / "agents.Message" / "request-nested-unknown-fields.binpb").read_bytes()
    async with scripted_upstream() as (upstream, _):
        proxy = await start_proxy(upstream)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            call = channel.stream_stream("/agents.AgentRpc/OpenChannel")(metadata=CLIENT)  # raw bytes, no (de)serializers
            await call.write(raw)
            echoed = await asyncio.wait_for(call.read(), WAIT)
            call.cancel()
        assert echoed == raw
        assert [e.data for e in proxy.recording.exchanges if e.kind == "send"] == [raw]


async def test_an_unreachable_upstream_is_unavailable_for_the_caller(start_proxy: ProxyFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"  # bound but not listening: connections are refused
        proxy = await start_proxy(dead)
        async with grpc.aio.insecure_channel(proxy.address) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await pb_grpc.AgentRpcStub(channel).GetSubscriptions(pb.GetSubscriptionsRequest(), metadata=CLIENT, timeout=WAIT)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_listening_on_a_taken_address_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = f"127.0.0.1:{sock.getsockname()[1]}"
        proxy = RecordingProxy(taken, "127.0.0.1:1")
        with pytest.raises(OSError, match="cannot listen"):
            await proxy.start()
