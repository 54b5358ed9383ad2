"""One client can neither remove another's subscriptions nor take over its agent types.

Under the host's default ``unique`` policy this holds for any two client-ids. The
client-id itself is self-asserted, so a client that *learns* another's client-id could
replace its stream; ``ClientIdGuard`` (with mutual TLS or tokens) closes that gap, and
the last tests show both sides of it.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from pyruntime.host import AgentRpcHost, HostOptions
from pyruntime.security import BearerTokenInterceptor, ClientIdGuard, ClientTls, bearer_metadata, secure_channel
from pyruntime.security.certs import TestPki, write_client_cert
from tests.reliability.raw_worker import RawWorker, event_message, request_message, response_message, wait_until


async def expect_code(code: grpc.StatusCode, awaitable: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


async def delivered(worker: RawWorker, publisher: RawWorker, topic: str, event_id: str) -> bool:
    """Publish one event and say whether ``worker`` got it as its next frame (within 2 s)."""
    await publisher.send(event_message(topic, "s", {}, event_id=event_id))
    try:
        message = await worker.next(timeout=2)
    except asyncio.TimeoutError:
        return False
    return message.cloudEvent.id == event_id


async def test_a_second_client_cannot_take_over_an_agent_type_or_its_traffic() -> None:
    async with AgentRpcHost("127.0.0.1:0") as host, grpc.aio.insecure_channel(host.address) as channel:
        owner, rival, caller = RawWorker(channel), RawWorker(channel), RawWorker(channel)
        await owner.register("owned")
        await owner.subscribe("owned-topic", "owned")
        await owner.open()
        await rival.open()
        await caller.open()
        try:
            await expect_code(grpc.StatusCode.ALREADY_EXISTS, rival.register("owned"))
            # Registering the rival's own type and subscribing it elsewhere is fine and changes nothing for the owner.
            await rival.register("rival")
            assert [c.client_id for c in host.routing.owners("owned")] == [owner.client_id]
            # RPCs to the type still reach the owner, and only the owner.
            await caller.send(request_message("r1", "owned"))
            forwarded = await owner.next()
            assert forwarded.HasField("request")
            await owner.send(response_message(forwarded.request.request_id))
            assert (await caller.next_response()).request_id == "r1"
            assert rival.inbox.empty()
            assert await delivered(owner, caller, "owned-topic", "e1")
        finally:
            for worker in (owner, rival, caller):
                await worker.close()


async def test_a_client_cannot_remove_or_shadow_another_clients_subscription() -> None:
    async with AgentRpcHost("127.0.0.1:0") as host, grpc.aio.insecure_channel(host.address) as channel:
        owner, rival = RawWorker(channel), RawWorker(channel)
        await owner.register("victim")
        sub_id = await owner.subscribe("victim-topic", "victim", sub_id="victim-sub")
        await owner.open()
        await rival.open()
        try:
            details = await expect_code(grpc.StatusCode.PERMISSION_DENIED, rival.unsubscribe(sub_id))
            assert "only the client that added it may remove it" in details
            # Neither the same id nor the same route can be added a second time by someone else.
            await expect_code(grpc.StatusCode.ALREADY_EXISTS, rival.subscribe("other", "victim", sub_id=sub_id))
            await expect_code(grpc.StatusCode.ALREADY_EXISTS, rival.subscribe("victim-topic", "victim"))
            assert sub_id in await rival.subscription_ids()
            # The rival leaving takes nothing of the owner's with it.
            await rival.close()
            await asyncio.wait_for(rival.stream_ended.wait(), 5)
            publisher = RawWorker(channel)
            await publisher.open()
            try:
                assert await delivered(owner, publisher, "victim-topic", "still-routed")
            finally:
                await publisher.close()
            await owner.unsubscribe(sub_id)  # the owner itself may
            assert sub_id not in await owner.subscription_ids()
        finally:
            await owner.close()
            await rival.close()


async def test_limit_without_authentication_a_known_client_id_can_be_reused() -> None:
    """The documented limit: client-id is self-asserted; on an open host, knowing it is enough."""
    async with AgentRpcHost("127.0.0.1:0") as host, grpc.aio.insecure_channel(host.address) as channel:
        victim = RawWorker(channel)
        await victim.register("precious")
        await victim.subscribe("precious-topic", "precious")
        await victim.open()
        impostor = RawWorker(channel, client_id=victim.client_id)
        await impostor.open()
        try:
            await asyncio.wait_for(victim.stream_ended.wait(), 5)
            assert victim.stream_error is not None and victim.stream_error.code() == grpc.StatusCode.ABORTED
            publisher = RawWorker(channel)
            await publisher.open()
            try:
                assert await delivered(impostor, publisher, "precious-topic", "stolen")
            finally:
                await publisher.close()
        finally:
            await victim.close()
            await impostor.close()


def mtls_client(pki: TestPki, name: str) -> ClientTls:
    pair = write_client_cert(pki, name)
    return ClientTls(ca_cert=pki.ca.cert, client_cert=pair.cert, client_key=pair.key)


async def test_client_id_guard_refuses_a_known_client_id_from_another_certificate(pki: TestPki) -> None:
    guard = ClientIdGuard()
    options = HostOptions(
        tls_cert=pki.server.cert, tls_key=pki.server.key, tls_client_ca=pki.ca.cert, interceptors=[guard]
    )
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        async with secure_channel(host.address, mtls_client(pki, "worker-a")) as chan_a, \
                secure_channel(host.address, mtls_client(pki, "worker-b")) as chan_b:
            victim = RawWorker(chan_a)
            await victim.register("precious")
            sub_id = await victim.subscribe("precious-topic", "precious")
            await victim.open()
            assert guard.bound_principal(victim.client_id) == "cn:worker-a"
            impostor = RawWorker(chan_b, client_id=victim.client_id)
            try:
                await expect_code(grpc.StatusCode.PERMISSION_DENIED, impostor.unsubscribe(sub_id))
                await expect_code(grpc.StatusCode.PERMISSION_DENIED, impostor.register("precious"))
                await impostor.open()
                await asyncio.wait_for(impostor.stream_ended.wait(), 5)
                assert impostor.stream_error is not None
                assert impostor.stream_error.code() == grpc.StatusCode.PERMISSION_DENIED
                assert "belongs to another authenticated identity" in (impostor.stream_error.details() or "")
                # The victim's stream was never replaced and still gets its events.
                publisher = RawWorker(chan_b)
                await publisher.open()
                try:
                    assert await delivered(victim, publisher, "precious-topic", "kept")
                finally:
                    await publisher.close()
                # The rightful owner may reconnect with its client-id (same certificate).
                await victim.close()
                again = RawWorker(chan_a, client_id=victim.client_id)
                await again.open()
                await again.register("precious")
                await again.close()
            finally:
                await victim.close()
                await impostor.close()


async def test_client_id_guard_with_per_worker_tokens() -> None:
    options = HostOptions(interceptors=[BearerTokenInterceptor(["token-a", "token-b"]), ClientIdGuard()])
    async with AgentRpcHost("127.0.0.1:0", options) as host, grpc.aio.insecure_channel(host.address) as channel:
        owner = RawWorker(channel, extra_metadata=bearer_metadata("token-a"))
        await owner.register("mine")
        impostor = RawWorker(channel, client_id=owner.client_id, extra_metadata=bearer_metadata("token-b"))
        await expect_code(grpc.StatusCode.PERMISSION_DENIED, impostor.register("mine"))
        await owner.register("mine")  # the same principal again: harmless
        assert [c.client_id for c in host.routing.owners("mine")] == [owner.client_id]
        # Through the guard's stream wrapper, the host still cleans up as soon as the stream ends.
        await owner.open()
        await owner.close()
        await wait_until(lambda: host.routing.owners("mine") == (), timeout=2)
