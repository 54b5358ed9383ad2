"""The bearer-token interceptor on our host: every one of the six RPCs is guarded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc as pb_grpc
from pyruntime.host import AgentRpcHost, HostOptions
from pyruntime.security import (
    BearerTokenInterceptor,
    ClientTls,
    TokenFileError,
    bearer_client_interceptors,
    bearer_metadata,
    load_token_file,
    secure_channel,
)
from pyruntime.security.certs import TestPki
from tests.reliability.raw_worker import RawWorker, event_message

TOKEN = "s3cret-token-for-tests"


def token_host(*tokens: str, **extra: object) -> AgentRpcHost:
    return AgentRpcHost("127.0.0.1:0", HostOptions(interceptors=[BearerTokenInterceptor(tokens or (TOKEN,))], **extra))


async def call_each_rpc(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> dict[str, grpc.StatusCode]:
    """Status of each of the six methods called with ``metadata`` (OK when it got through)."""
    stub = pb_grpc.AgentRpcStub(channel)
    sub = pb.Subscription(id="tok-sub", typeSubscription=pb.TypeSubscription(topic_type="t", agent_type="tok"))
    unary = {
        "RegisterAgent": lambda: stub.RegisterAgent(pb.RegisterAgentTypeRequest(type="tok"), metadata=metadata, timeout=5),
        "AddSubscription": lambda: stub.AddSubscription(
            pb.AddSubscriptionRequest(subscription=sub), metadata=metadata, timeout=5
        ),
        "GetSubscriptions": lambda: stub.GetSubscriptions(pb.GetSubscriptionsRequest(), metadata=metadata, timeout=5),
        "RemoveSubscription": lambda: stub.RemoveSubscription(
            pb.RemoveSubscriptionRequest(id="tok-sub"), metadata=metadata, timeout=5
        ),
    }
    codes: dict[str, grpc.StatusCode] = {}
    for name, call in unary.items():
        try:
            await call()
            codes[name] = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as error:
            codes[name] = error.code()
    for name, opener in (("OpenChannel", stub.OpenChannel), ("OpenControlChannel", stub.OpenControlChannel)):
        stream = opener(metadata=metadata, timeout=5)
        try:
            # Half-close: an accepted stream ends OK once the host flushed; a refused one ends at once.
            await stream.done_writing()
            codes[name] = await asyncio.wait_for(stream.code(), 5)
        except grpc.aio.AioRpcError as error:
            codes[name] = error.code()
        finally:
            stream.cancel()
    return codes


async def test_every_rpc_without_a_token_is_unauthenticated_with_a_clear_message() -> None:
    async with token_host() as host, grpc.aio.insecure_channel(host.address) as channel:
        codes = await call_each_rpc(channel, (("client-id", "no-token"),))
        assert codes == {name: grpc.StatusCode.UNAUTHENTICATED for name in codes}
        assert len(codes) == 6
        stub = pb_grpc.AgentRpcStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.RegisterAgent(pb.RegisterAgentTypeRequest(type="x"), metadata=(("client-id", "c"),), timeout=5)
        assert "authorization: Bearer <token>" in (caught.value.details() or "")
        assert host.routing.clients() == []


@pytest.mark.parametrize("value", ["Bearer wrong", "Bearer " + TOKEN + "x", "Bearer " + TOKEN[:-1], TOKEN, "bearer " + TOKEN, "Basic abc"])
async def test_a_wrong_token_is_unauthenticated(value: str) -> None:
    async with token_host() as host, grpc.aio.insecure_channel(host.address) as channel:
        codes = await call_each_rpc(channel, (("client-id", "bad-token"), ("authorization", value)))
        assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}
        stub = pb_grpc.AgentRpcStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetSubscriptions(
                pb.GetSubscriptionsRequest(), metadata=(("client-id", "c"), ("authorization", value)), timeout=5
            )
        assert "invalid bearer token" in (caught.value.details() or "")
        assert TOKEN not in (caught.value.details() or "")  # the secret is never echoed


async def test_the_right_token_passes_every_rpc_and_a_rotated_second_token_too() -> None:
    async with token_host(TOKEN, "next-token") as host, grpc.aio.insecure_channel(host.address) as channel:
        for token in (TOKEN, "next-token"):
            codes = await call_each_rpc(channel, (("client-id", f"ok-{token}"), *bearer_metadata(token)))
            assert codes == dict.fromkeys(codes, grpc.StatusCode.OK), codes
            assert len(codes) == 6


async def test_authenticated_worker_gets_events_while_an_unauthenticated_one_is_shut_out() -> None:
    async with token_host() as host, grpc.aio.insecure_channel(host.address) as channel:
        good = RawWorker(channel, extra_metadata=bearer_metadata(TOKEN))
        await good.register("guarded")
        await good.subscribe("guarded-topic", "guarded")
        await good.open()
        stranger = RawWorker(channel)
        await stranger.open()
        try:
            await asyncio.wait_for(stranger.stream_ended.wait(), 5)
            assert stranger.stream_error is not None
            assert stranger.stream_error.code() == grpc.StatusCode.UNAUTHENTICATED
            await good.send(event_message("guarded-topic", "s", {"n": 1}, event_id="g-1"))
            assert (await good.next()).cloudEvent.id == "g-1"
        finally:
            await good.close()
            await stranger.close()


async def test_call_credentials_carry_the_token_over_tls(pki: TestPki) -> None:
    options = HostOptions(
        tls_cert=pki.server.cert, tls_key=pki.server.key, interceptors=[BearerTokenInterceptor([TOKEN])]
    )
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        tls = ClientTls(ca_cert=pki.ca.cert)
        async with secure_channel(host.address, tls, token=TOKEN) as channel:
            codes = await call_each_rpc(channel, (("client-id", "tls-token"),))
            assert set(codes.values()) == {grpc.StatusCode.OK}, codes
        async with secure_channel(host.address, tls, token="wrong") as channel:
            codes = await call_each_rpc(channel, (("client-id", "tls-wrong"),))
            assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}


async def test_client_interceptor_adds_the_token_to_every_call_of_a_plaintext_channel() -> None:
    async with token_host() as host:
        async with grpc.aio.insecure_channel(host.address, interceptors=bearer_client_interceptors(TOKEN)) as channel:
            codes = await call_each_rpc(channel, (("client-id", "intercepted"),))
            assert codes == dict.fromkeys(codes, grpc.StatusCode.OK), codes
            worker = RawWorker(channel)  # write()/read() on an intercepted stream call
            await worker.register("intercepted-type")
            await worker.subscribe("intercepted-topic", "intercepted-type")
            await worker.open()
            try:
                await worker.send(event_message("intercepted-topic", "s", {}, event_id="i-1"))
                assert (await worker.next()).cloudEvent.id == "i-1"
            finally:
                await worker.close()
        async with grpc.aio.insecure_channel(host.address, interceptors=bearer_client_interceptors("nope")) as channel:
            codes = await call_each_rpc(channel, (("client-id", "intercepted-wrong"),))
            assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}


def test_accepts_is_exact() -> None:
    check = BearerTokenInterceptor([TOKEN])
    assert check.accepts("Bearer " + TOKEN)
    assert check.accepts(("Bearer " + TOKEN).encode())
    for value in (None, "", "Bearer ", "Bearer " + TOKEN + " ", " Bearer " + TOKEN, "Bearer " + TOKEN.upper()):
        assert not check.accepts(value)


def test_token_file_reads_one_token_per_line_and_refuses_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text("# current and next\n  abc123 \n\nnext-456\n")
    assert load_token_file(path) == ("abc123", "next-456")
    path.write_text("# nothing here\n\n")
    with pytest.raises(TokenFileError, match="holds no token"):
        load_token_file(path)
    with pytest.raises(TokenFileError, match="cannot read"):
        load_token_file(tmp_path / "missing.txt")


def test_tokens_with_whitespace_or_nothing_are_refused_up_front() -> None:
    for bad in ("", " padded", "line\nbreak"):
        with pytest.raises(ValueError):
            bearer_metadata(bad)
    with pytest.raises(ValueError):
        BearerTokenInterceptor([])
