"""Raw gRPC against a real host: client-id, stream replacement, RegisterAgent policies."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from pyruntime._proto import agent_worker_pb2 as pb
from tests.host.raw_peer import WAIT, event, request, response


async def expect_status(awaitable: object, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


async def test_every_method_requires_client_id(host, peers) -> None:
    anonymous = peers(host, None)
    unary_calls = [
        anonymous.register("T"),
        anonymous.subscribe("t", "T", "s1"),
        anonymous.remove("s1"),
        anonymous.subscriptions(),
    ]
    for call in unary_calls:
        details = await expect_status(call, grpc.StatusCode.INVALID_ARGUMENT)
        assert "client-id" in details
    for stream in (anonymous.open(), anonymous.open_control()):
        code, details = await stream.status()
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "client-id" in details
    assert host.routing.clients() == []


async def test_new_stream_replaces_old_and_old_cleanup_keeps_new_state(host, peers) -> None:
    a = peers(host, "A")
    first = await a.serve("T", topic_type="t")
    second = a.open()
    await second.sync()  # attached: the first stream is now superseded
    code, details = await first.status()
    assert code == grpc.StatusCode.ABORTED and "replaced" in details
    # The old stream's cleanup ran (it has ended); the new stream still owns everything.
    assert [s.id for s in await a.subscriptions()] == ["A-T-t"]
    await second.send(event("t"))
    delivered = await second.sync()
    assert [m.cloudEvent.type for m in delivered] == ["t"]
    with pytest.raises(grpc.aio.AioRpcError):
        await peers(host, "B").register("T")
    # Ending the current stream releases the client's state.
    await second.end()
    assert (await second.status())[0] == grpc.StatusCode.OK
    await peers(host, "B").register("T")
    assert await a.subscriptions() == []


async def test_requests_pending_at_a_replaced_stream_fail(host, peers) -> None:
    b = peers(host, "B")
    old = await b.serve("T")
    caller = peers(host, "C").open()
    await caller.send(request("1", "T"))
    assert (await old.recv()).WhichOneof("message") == "request"
    replacement = b.open()  # replaces the stream holding the request
    reply = await caller.recv()
    assert reply.response.request_id == "1" and "disconnected" in reply.response.error
    assert (await old.status())[0] == grpc.StatusCode.ABORTED
    assert await replacement.sync() == []  # the new stream is live and got nothing stale


async def test_unique_policy_second_client_gets_already_exists_naming_owner(host, peers) -> None:
    await peers(host, "A").register("T")
    details = await expect_status(peers(host, "B").register("T"), grpc.StatusCode.ALREADY_EXISTS)
    assert "'A'" in details and "'T'" in details


async def test_same_client_registering_twice_is_harmless(host, peers) -> None:
    a = peers(host, "A")
    stream = await a.serve("T")
    await a.register("T")
    caller = peers(host, "C").open()
    await caller.send(request("1", "T"))
    forwarded = await stream.recv()
    assert forwarded.request.target.type == "T"


async def test_empty_agent_type_is_invalid(host, peers) -> None:
    await expect_status(peers(host, "A").register(""), grpc.StatusCode.INVALID_ARGUMENT)


async def test_shared_policy_spreads_rpcs_and_sends_events_to_every_owner(start_host, peers) -> None:
    host = await start_host(type_policy="shared")
    workers = {name: await peers(host, name).serve("T", topic_type=f"t-{name}") for name in ("W1", "W2")}
    await peers(host, "Z").subscribe("t", "T", "shared-sub")
    caller = peers(host, "C").open()
    for n in range(4):
        await caller.send(request(str(n), "T"))
    served = {name: [] for name in workers}
    for name, stream in workers.items():
        for message in await asyncio.wait_for(_take(stream, 2), WAIT):
            served[name].append(message.request.request_id)
            await stream.send(response(message.request.request_id, data=name.encode()))
    assert all(len(ids) == 2 for ids in served.values())
    answers = {}
    for _ in range(4):
        reply = (await caller.recv()).response
        answers[reply.request_id] = reply.payload.data
    assert sorted(answers) == ["0", "1", "2", "3"]
    assert answers["0"] != answers["1"] and answers["0"] == answers["2"]  # round-robin: alternating
    await caller.send(event("t"))
    for stream in workers.values():
        assert [m.cloudEvent.type for m in await stream.sync()] == ["t"]


async def _take(stream, count: int) -> list[pb.Message]:
    return [await stream.recv() for _ in range(count)]


async def test_register_before_open_channel_binds_to_client(host, peers) -> None:
    a = peers(host, "A")
    await a.register("T")  # no stream yet
    await expect_status(peers(host, "B").register("T"), grpc.StatusCode.ALREADY_EXISTS)
    stream = a.open()
    await stream.sync()
    caller = peers(host, "C").open()
    await caller.send(request("7", "T"))
    assert (await stream.recv()).request.target.type == "T"


async def test_rpc_to_a_type_whose_owner_has_no_stream_gets_an_error(host, peers) -> None:
    await peers(host, "A").register("T")
    caller = peers(host, "C").open()
    await caller.send(request("1", "T"))
    reply = (await caller.recv()).response
    assert reply.request_id == "1" and "no open data stream" in reply.error


async def test_streamless_registration_is_released_after_grace(start_host, peers) -> None:
    host = await start_host(registration_grace=0.2)
    a = peers(host, "A")
    await a.register("T")
    await a.subscribe("t", "T", "s1")
    b = peers(host, "B")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:  # bounded: the grace period is 0.2 s, the loop gives up after WAIT
        try:
            await b.register("T")
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.ALREADY_EXISTS
            assert loop.time() < deadline, "registration was never released"
            await asyncio.sleep(0.05)
    assert await b.subscriptions() == []


async def test_stream_end_releases_types_for_other_clients(host, peers) -> None:
    a = peers(host, "A")
    stream = await a.serve("T", topic_type="t")
    await stream.end()
    await stream.status()
    await peers(host, "B").register("T")
    assert await a.subscriptions() == []


async def test_cancelled_stream_is_cleaned_up_too(host, peers) -> None:
    a = peers(host, "A")
    stream = await a.serve("T", topic_type="t")
    stream.cancel()
    b = peers(host, "B")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while await b.subscriptions():  # cleanup happens when the host notices the cancel
        assert loop.time() < deadline
        await asyncio.sleep(0.02)
    await b.register("T")
