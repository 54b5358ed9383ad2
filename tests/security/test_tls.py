"""TLS and mutual TLS on our host, with raw gRPC clients: who gets in and who does not."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from pyruntime.host import AgentRpcHost, HostOptions
from pyruntime.security import ClientTls, TlsConfigError, secure_channel
from pyruntime.security.certs import TestPki
from tests.reliability.raw_worker import RawWorker, event_message


def tls_options(pki: TestPki, *, mutual: bool) -> HostOptions:
    return HostOptions(
        tls_cert=pki.server.cert, tls_key=pki.server.key, tls_client_ca=pki.ca.cert if mutual else None
    )


async def assert_round_trip(channel: grpc.aio.Channel) -> None:
    """Register, subscribe, open the stream, publish and get the event back: the whole path works."""
    worker = RawWorker(channel)
    await worker.register("echo")
    await worker.subscribe("tls-topic", "echo")
    await worker.open()
    try:
        await worker.send(event_message("tls-topic", "s", {"n": 1}, event_id="tls-1"))
        message = await worker.next(timeout=5)
        assert message.cloudEvent.id == "tls-1"
    finally:
        await worker.close()


async def assert_refused(channel: grpc.aio.Channel) -> grpc.StatusCode:
    worker = RawWorker(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await worker.register("intruder", timeout=5)
    return caught.value.code()


async def test_tls_host_serves_a_client_that_trusts_its_ca(pki: TestPki) -> None:
    async with AgentRpcHost("127.0.0.1:0", tls_options(pki, mutual=False)) as host:
        async with secure_channel(host.address, ClientTls(ca_cert=pki.ca.cert)) as channel:
            await assert_round_trip(channel)


async def test_tls_host_refuses_plaintext_and_untrusting_clients(pki: TestPki) -> None:
    async with AgentRpcHost("127.0.0.1:0", tls_options(pki, mutual=False)) as host:
        async with grpc.aio.insecure_channel(host.address) as plain:
            assert await assert_refused(plain) == grpc.StatusCode.UNAVAILABLE
        # A client that trusts only the rogue CA must not accept the host's certificate.
        async with secure_channel(host.address, ClientTls(ca_cert=pki.rogue_ca.cert)) as wrong_ca:
            assert await assert_refused(wrong_ca) == grpc.StatusCode.UNAVAILABLE
        assert host.routing.clients() == []


async def test_server_name_override_connects_by_name_the_certificate_carries(pki: TestPki) -> None:
    async with AgentRpcHost("127.0.0.1:0", tls_options(pki, mutual=False)) as host:
        tls = ClientTls(ca_cert=pki.ca.cert, server_name="localhost")
        async with secure_channel(host.address, tls) as channel:
            await assert_round_trip(channel)
        wrong = ClientTls(ca_cert=pki.ca.cert, server_name="not-the-host.example")
        async with secure_channel(host.address, wrong) as channel:
            assert await assert_refused(channel) == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_admits_a_client_certificate_from_the_ca(pki: TestPki) -> None:
    async with AgentRpcHost("127.0.0.1:0", tls_options(pki, mutual=True)) as host:
        tls = ClientTls(ca_cert=pki.ca.cert, client_cert=pki.client.cert, client_key=pki.client.key)
        async with secure_channel(host.address, tls) as channel:
            await assert_round_trip(channel)


@pytest.mark.parametrize("who", ["no client certificate", "certificate from a rogue CA", "plaintext"])
async def test_mutual_tls_refuses_clients_without_a_valid_certificate(pki: TestPki, who: str) -> None:
    async with AgentRpcHost("127.0.0.1:0", tls_options(pki, mutual=True)) as host:
        if who == "plaintext":
            channel = grpc.aio.insecure_channel(host.address)
        elif who == "no client certificate":
            channel = secure_channel(host.address, ClientTls(ca_cert=pki.ca.cert))
        else:
            tls = ClientTls(ca_cert=pki.ca.cert, client_cert=pki.rogue_client.cert, client_key=pki.rogue_client.key)
            channel = secure_channel(host.address, tls)
        async with channel:
            assert await assert_refused(channel) == grpc.StatusCode.UNAVAILABLE
            # The stream call is refused too, not only unary calls.
            worker = RawWorker(channel)
            await worker.open()
            try:
                await asyncio.wait_for(worker.stream_ended.wait(), 5)
                assert worker.stream_error is not None
                assert worker.stream_error.code() == grpc.StatusCode.UNAVAILABLE
            finally:
                await worker.close()
        # Nothing of the refused client reached the routing table.
        assert host.routing.clients() == []
        # A legitimate client still gets in afterwards.
        tls = ClientTls(ca_cert=pki.ca.cert, client_cert=pki.client.cert, client_key=pki.client.key)
        async with secure_channel(host.address, tls) as good:
            await assert_round_trip(good)


def test_client_tls_needs_cert_and_key_together(pki: TestPki) -> None:
    with pytest.raises(TlsConfigError, match="both client_cert and client_key"):
        ClientTls(ca_cert=pki.ca.cert, client_cert=pki.client.cert)


def test_unreadable_ca_is_reported_with_its_path(tmp_path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(TlsConfigError, match="nope.pem"):
        ClientTls(ca_cert=missing).channel_credentials()
