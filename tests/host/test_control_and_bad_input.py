"""Raw gRPC against a real host: the control channel, bad input, oversize frames, backpressure."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import any_pb2

from pyruntime._proto import agent_worker_pb2 as pb
from tests.host.raw_peer import event, request


def control(destination: str, rpc_id: str = "r1") -> pb.ControlMessage:
    body = any_pb2.Any()
    body.Pack(pb.SaveStateRequest(agentId=pb.AgentId(type="T", key="k")))
    return pb.ControlMessage(rpc_id=rpc_id, destination=destination, respond_to="clientid=A", rpcMessage=body)


async def test_control_routes_by_client_id_and_agent_id_unchanged(host, peers) -> None:
    a, b = peers(host, "A"), peers(host, "B")
    ca, cb = a.open_control(), b.open_control()
    data_b = await b.serve("T")  # B owns T (kept referenced: a dropped call is cancelled)
    # Wait until both control streams are attached (the host has no ack for them).
    await _until(lambda: host.routing.control_stream("A") and host.routing.control_stream("B"))
    frame = control("clientid=B").SerializeToString() + b"\xf8\x06\x01"  # unknown field kept
    await ca.send_bytes(frame)
    assert await cb.recv_bytes() == frame
    await ca.send(control("agentid=T/k", rpc_id="r2"))
    got = await cb.recv()
    assert (got.rpc_id, got.destination) == ("r2", "agentid=T/k")
    assert got.rpcMessage.Is(pb.SaveStateRequest.DESCRIPTOR)
    del data_b


async def test_malformed_destination_is_dropped_and_the_stream_keeps_working(host, peers, caplog) -> None:
    a, b = peers(host, "A"), peers(host, "B")
    ca, cb = a.open_control(), b.open_control()
    await _until(lambda: host.routing.control_stream("A") and host.routing.control_stream("B"))
    for bad in ("agentid=T", "bogus", "", "clientid=", "clientid=nobody", "agentid=Unowned/k"):
        await ca.send(control(bad, rpc_id=f"bad {bad}"))
    await ca.send_bytes(b"\xff\xff\xff")  # undecodable
    await ca.send(control("clientid=B", rpc_id="good"))
    assert (await cb.recv()).rpc_id == "good"  # the bad ones never arrived, the good one did
    assert host.stats.control_dropped == 7
    assert any(r.levelname == "WARNING" and "control message dropped" in r.getMessage() for r in caplog.records)


async def test_empty_message_and_garbage_do_not_stop_the_reader(host, peers) -> None:
    a = peers(host, "A")
    stream = await a.serve("T", topic_type="t")
    other = await peers(host, "B").serve("U", topic_type="t")
    await stream.send(pb.Message())  # no oneof
    await stream.send_bytes(b"\xff\xff\xff\xff")  # not a Message
    await stream.send_bytes(b"\x0a\x05\x0a")  # truncated
    await stream.send(event("t"))
    assert [m.cloudEvent.type for m in await stream.sync()] == ["t"]
    assert [m.cloudEvent.type for m in await other.sync()] == ["t"]
    assert host.stats.messages_empty == 1 and host.stats.frames_undecodable == 2


async def test_oversize_messages_are_refused_one_by_one(start_host, peers) -> None:
    host = await start_host(max_message_bytes=2048)
    stream = await peers(host, "A").serve("T", topic_type="t")
    big = b"x" * 4096
    await stream.send(event("t", data=big))  # dropped
    await stream.send(request("big", "T", data=big))  # answered with an error
    reply = (await stream.recv()).response
    assert reply.request_id == "big" and "2048" in reply.error
    await stream.send(event("t", data=b"small"))
    assert [m.cloudEvent.binary_data for m in await stream.sync()] == [b"small"]
    assert host.stats.frames_oversize == 2


async def test_frame_over_transport_limit_ends_only_that_stream(start_host, peers) -> None:
    host = await start_host(max_message_bytes=2048, transport_max_bytes=8192)
    victim = await peers(host, "A").serve("T", topic_type="t")
    bystander = await peers(host, "B").serve("U", topic_type="t")
    await victim.send(event("t", data=b"x" * 20000))
    code, _ = await victim.status()
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    await bystander.send(event("t"))
    assert [m.cloudEvent.type for m in await bystander.sync()] == ["t"]


async def test_a_stream_that_does_not_read_is_closed_and_others_keep_flowing(start_host, peers) -> None:
    host = await start_host(outbound_queue_size=4, send_timeout=0.3, max_message_bytes=256 * 1024)
    # The sleeper never reads; its small receive window stops gRPC taking more frames.
    sleeper = await peers(host, "S", options=[("grpc.http2.lookahead_bytes", 0), ("grpc.http2.bdp_probe", 0)]).serve(
        "T", topic_type="t"
    )
    reader = await peers(host, "R").serve("U", topic_type="t")
    publisher = peers(host, "P").open()
    payload = b"x" * (128 * 1024)

    async def publish() -> None:
        for _ in range(40):
            await publisher.send(event("t", data=payload))
        await publisher.sync()

    async def consume() -> int:
        count = 0
        while count < 40:
            message = await reader.recv()
            count += message.WhichOneof("message") == "cloudEvent"
        return count

    results = await asyncio.wait_for(asyncio.gather(publish(), consume()), 20)
    assert results[1] == 40
    assert host.stats.slow_streams_closed == 1
    assert host.routing.client("S") is None  # released at once: nothing routes to it any more
    # When the sleeper finally reads, it gets what was already in flight, then the reason.
    for _ in range(40):
        try:
            await sleeper.recv_bytes()
        except (grpc.aio.AioRpcError, EOFError):
            break
    code, details = await sleeper.status()
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "not reading" in details


async def _until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_new_control_stream_replaces_the_old_one(host, peers) -> None:
    a, b = peers(host, "A"), peers(host, "B")
    old = a.open_control()
    await _until(lambda: host.routing.control_stream("A") is not None)
    first = host.routing.control_stream("A")
    new = a.open_control()
    await _until(lambda: host.routing.control_stream("A") is not first)
    code, details = await old.status()
    assert code == grpc.StatusCode.ABORTED and "replaced" in details
    cb = b.open_control()
    await _until(lambda: host.routing.control_stream("B") is not None)
    await cb.send(control("clientid=A", rpc_id="to-new"))
    assert (await new.recv()).rpc_id == "to-new"


async def test_agentid_destination_under_shared_policy_is_stable_per_key(start_host, peers) -> None:
    host = await start_host(type_policy="shared")
    owners = {name: peers(host, name) for name in ("W1", "W2")}
    controls, data_streams = {}, []
    for name, peer in owners.items():
        data_streams.append(await peer.serve("T"))  # kept: a dropped call object is cancelled
        controls[name] = peer.open_control()
    sender = peers(host, "S").open_control()
    await _until(lambda: all(host.routing.control_stream(n) for n in ("W1", "W2", "S")))
    expected = host.routing.agent_owner("T", "key-1").client_id  # type: ignore[union-attr]
    for n in range(3):
        await sender.send(control("agentid=T/key-1", rpc_id=f"m{n}"))
    got = [(await controls[expected].recv()).rpc_id for _ in range(3)]
    assert got == ["m0", "m1", "m2"]


async def test_new_calls_during_shutdown_get_unavailable(start_host, peers) -> None:
    host = await start_host(shutdown_grace=2.0)
    callee = await peers(host, "B").serve("T")
    caller = peers(host, "A").open()
    await caller.send(request("1", "T"))
    await callee.recv()  # one RPC pending keeps the drain waiting
    stopping = asyncio.ensure_future(host.stop())
    await _until(lambda: host._servicer.draining)
    late = peers(host, "C")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await late.register("U")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    code, _ = await late.open().status()
    assert code == grpc.StatusCode.UNAVAILABLE
    await asyncio.wait_for(stopping, 10)


async def test_a_failure_inside_the_host_costs_one_frame_not_the_stream(host, peers, caplog, monkeypatch) -> None:
    stream = await peers(host, "A").serve("T", topic_type="t")
    real = host.routing.event_recipients

    def faulty(topic_type: str):
        if topic_type == "boom":
            raise RuntimeError("injected routing fault")
        return real(topic_type)

    monkeypatch.setattr(host.routing, "event_recipients", faulty)
    await stream.send(event("boom"))
    await stream.send(event("t"))
    assert [m.cloudEvent.type for m in await stream.sync()] == ["t"]
    assert any("frame handling failed" in r.getMessage() and r.exc_info for r in caplog.records)
