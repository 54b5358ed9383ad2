"""Raw gRPC against a real host: RpcRequest/RpcResponse routing. No request waits forever."""

from __future__ import annotations

import asyncio
import logging

from pyruntime._proto import agent_worker_pb2 as pb
from tests.host.raw_peer import event, request, response


async def test_request_and_response_round_trip_with_ids_restored(host, peers) -> None:
    callee = await peers(host, "B").serve("T")
    caller = peers(host, "A").open()
    message = request("caller-42", "T", key="k1", data=b'{"q": 1}')
    message.request.metadata["traceparent"] = "00-abc"
    await caller.send(message)
    forwarded = (await callee.recv()).request
    assert forwarded.request_id != "caller-42"  # host id on the way to the target
    assert (forwarded.target.type, forwarded.target.key, forwarded.payload.data) == ("T", "k1", b'{"q": 1}')
    assert forwarded.metadata["traceparent"] == "00-abc"
    await callee.send(response(forwarded.request_id, data=b'{"a": 2}'))
    reply = (await caller.recv()).response
    assert (reply.request_id, reply.payload.data, reply.error) == ("caller-42", b'{"a": 2}', "")
    assert host.stats.rpc_answered == 1 and len(host._servicer.pending) == 0


async def test_unknown_target_type_gets_an_immediate_error(host, peers) -> None:
    caller = peers(host, "A").open()
    await caller.send(request("1", "Nobody"))
    reply = (await caller.recv()).response
    assert reply.request_id == "1" and "Nobody" in reply.error and not reply.HasField("payload")


async def test_request_without_target_gets_an_error(host, peers) -> None:
    caller = peers(host, "A").open()
    await caller.send(pb.Message(request=pb.RpcRequest(request_id="nt")))
    reply = (await caller.recv()).response
    assert reply.request_id == "nt" and "no target" in reply.error


async def test_target_disconnect_fails_every_pending_caller(host, peers) -> None:
    callee = await peers(host, "B").serve("T")
    callers = [peers(host, name).open() for name in ("A1", "A2")]
    for n, caller in enumerate(callers):
        await caller.send(request(f"r{n}", "T"))
    for _ in callers:
        await callee.recv()
    callee.cancel()
    for n, caller in enumerate(callers):
        reply = (await caller.recv()).response
        assert reply.request_id == f"r{n}" and "disconnected" in reply.error


async def test_timeout_ends_in_an_error_response(start_host, peers) -> None:
    host = await start_host(rpc_timeout=0.2)
    callee = await peers(host, "B").serve("T")
    caller = peers(host, "A").open()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await caller.send(request("slow", "T"))
    forwarded = (await callee.recv()).request
    reply = (await caller.recv()).response
    assert reply.request_id == "slow" and "0.2s" in reply.error
    assert 0.15 <= loop.time() - started < 3
    # A late answer is dropped (unknown id), and nothing more reaches the caller.
    await callee.send(response(forwarded.request_id))
    await callee.sync()
    assert await caller.sync() == []
    assert host.stats.rpc_timeouts == 1 and host.stats.responses_unknown == 1


async def test_equal_request_ids_from_two_callers_do_not_collide(host, peers) -> None:
    callee = await peers(host, "B").serve("T")
    c1, c2 = peers(host, "C1").open(), peers(host, "C2").open()
    await c1.send(request("1", "T", data=b"from-c1"))
    first = (await callee.recv()).request
    await c2.send(request("1", "T", data=b"from-c2"))
    second = (await callee.recv()).request
    assert first.request_id != second.request_id
    # Answer in reverse order; each caller must get the answer to its own request.
    await callee.send(response(second.request_id, data=b"for " + second.payload.data))
    await callee.send(response(first.request_id, data=b"for " + first.payload.data))
    r1, r2 = (await c1.recv()).response, (await c2.recv()).response
    assert (r1.request_id, r1.payload.data) == ("1", b"for from-c1")
    assert (r2.request_id, r2.payload.data) == ("1", b"for from-c2")


async def test_unknown_response_id_is_dropped_with_a_debug_log(host, peers, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="pyruntime.host")
    stream = await peers(host, "B").serve("T", topic_type="t")
    await stream.send(response("never-issued"))
    await stream.send(event("t"))  # the stream keeps working
    assert [m.cloudEvent.type for m in await stream.sync()] == ["t"]
    assert host.stats.responses_unknown == 1
    assert any(r.levelno == logging.DEBUG and "unknown request id" in r.getMessage() for r in caplog.records)


async def test_a_response_from_a_client_that_was_not_asked_is_ignored(host, peers) -> None:
    callee = await peers(host, "B").serve("T")
    impostor = peers(host, "X").open()
    caller = peers(host, "A").open()
    await caller.send(request("1", "T"))
    host_id = (await callee.recv()).request.request_id
    await impostor.send(response(host_id, data=b"forged"))
    await impostor.sync()
    await callee.send(response(host_id, data=b"real"))
    assert (await caller.recv()).response.payload.data == b"real"


async def test_caller_may_be_its_own_target(host, peers) -> None:
    stream = await peers(host, "A").serve("T")
    await stream.send(request("self", "T"))
    forwarded = (await stream.recv()).request
    await stream.send(response(forwarded.request_id, error="handler raised"))
    reply = (await stream.recv()).response
    assert (reply.request_id, reply.error) == ("self", "handler raised")


async def test_graceful_stop_lets_pending_rpcs_finish(start_host, peers) -> None:
    host = await start_host(shutdown_grace=3.0)
    callee = await peers(host, "B").serve("T")
    caller = peers(host, "A").open()
    await caller.send(request("1", "T"))
    forwarded = (await callee.recv()).request
    stopping = asyncio.ensure_future(host.stop())
    for _ in range(100):  # bounded: drain() flips the flag on its first step
        if host._servicer.draining:
            break
        await asyncio.sleep(0)
    assert host._servicer.draining
    # Draining: new requests are refused, but the pending one's answer still gets through.
    await caller.send(request("2", "T"))
    assert "shutting down" in (await caller.recv()).response.error
    await callee.send(response(forwarded.request_id, data=b"done"))
    assert (await caller.recv()).response.payload.data == b"done"
    # The last answer ends the wait at once: stop() does not sit out the 3 s grace.
    answered = asyncio.get_running_loop().time()
    await asyncio.wait_for(stopping, 5)
    assert asyncio.get_running_loop().time() - answered < 2.0
    assert (await caller.status())[0].name in ("UNAVAILABLE", "OK", "CANCELLED")


async def test_stop_answers_requests_still_pending_after_grace(start_host, peers) -> None:
    host = await start_host(shutdown_grace=0.2)
    callee = await peers(host, "B").serve("T")
    caller = peers(host, "A").open()
    await caller.send(request("1", "T"))
    await callee.recv()
    await asyncio.wait_for(host.stop(), 5)
    reply = (await caller.recv()).response
    assert reply.request_id == "1" and "shut down" in reply.error


async def test_stop_is_idempotent_and_concurrent_safe(start_host) -> None:
    host = await start_host()
    await asyncio.wait_for(asyncio.gather(host.stop(), host.stop()), 10)
    await asyncio.wait_for(host.stop(), 10)
    await asyncio.wait_for(host.wait_stopped(), 1)
