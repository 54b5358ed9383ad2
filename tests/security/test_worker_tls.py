"""Our GrpcWorkerRuntime over TLS and mutual TLS to our host: events and RPC between two workers."""

from __future__ import annotations


import pytest

from pyruntime import (
    AgentId,
    GrpcWorkerRuntime,
    HostConnectionLost,
    RegistrationError,
    TlsSettings,
    TopicId,
    TypeSubscription,
)
from pyruntime.host import AgentRpcHost, HostOptions
from pyruntime.security import BearerTokenInterceptor, bearer_metadata
from pyruntime.security.certs import TestPki
from tests.reliability.raw_worker import wait_until
from tests.security.tenant_agents import Fact, Facts, Memory, Recall


def worker_tls(pki: TestPki, *, client_cert: bool, rogue: bool = False) -> TlsSettings:
    pair = pki.rogue_client if rogue else pki.client
    return TlsSettings(
        root_certificates=pki.ca.cert.read_bytes(),
        certificate_chain=pair.cert.read_bytes() if client_cert else None,
        private_key=pair.key.read_bytes() if client_cert else None,
    )


async def exchange(address: str, tls: TlsSettings) -> None:
    """Worker A hosts Memory on topic 'facts'; worker B publishes a Fact and then asks for it by RPC."""
    a = GrpcWorkerRuntime(address, tls=tls, rpc_timeout=5)
    b = GrpcWorkerRuntime(address, tls=tls, rpc_timeout=5)
    b.add_message_types(Fact, Recall, Facts)
    await Memory.register(a, "memory")
    await a.add_subscription(TypeSubscription(topic_type="facts", agent_type="memory"))
    async with a, b:
        await b.publish_message(Fact("over tls"), TopicId("facts", "k"))

        async def recalled() -> list[str]:
            reply = await b.send_message(Recall(), AgentId("memory", "k"))
            assert isinstance(reply, Facts)
            return reply.texts

        texts: list[str] = []
        for _ in range(50):  # the event and the RPC travel independently: poll, boundedly
            texts = await recalled()
            if texts:
                break
        assert texts == ["over tls"]


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
async def test_workers_exchange_events_and_rpcs_over_tls(pki: TestPki, mutual: bool) -> None:
    options = HostOptions(
        tls_cert=pki.server.cert, tls_key=pki.server.key, tls_client_ca=pki.ca.cert if mutual else None
    )
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        await exchange(host.address, worker_tls(pki, client_cert=mutual))


@pytest.mark.parametrize("who", ["no client certificate", "rogue certificate"])
async def test_worker_without_a_valid_certificate_cannot_start(pki: TestPki, who: str) -> None:
    options = HostOptions(tls_cert=pki.server.cert, tls_key=pki.server.key, tls_client_ca=pki.ca.cert)
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        tls = worker_tls(pki, client_cert=who == "rogue certificate", rogue=who == "rogue certificate")
        worker = GrpcWorkerRuntime(host.address, tls=tls, connect_timeout=1.5)
        await Memory.register(worker, "memory")
        with pytest.raises(HostConnectionLost):
            await worker.start()
        assert host.routing.clients() == []


async def test_worker_with_a_bearer_token() -> None:
    options = HostOptions(interceptors=[BearerTokenInterceptor(["worker-token"])])
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        good = GrpcWorkerRuntime(host.address, metadata=bearer_metadata("worker-token"), rpc_timeout=5)
        await Memory.register(good, "memory")
        async with good:
            await wait_until(lambda: host.routing.owners("memory") != (), timeout=5)
        bad = GrpcWorkerRuntime(host.address, metadata=bearer_metadata("wrong"), connect_timeout=1.5)  # type: ignore[call-arg]
        await Memory.register(bad, "memory2")
        with pytest.raises((HostConnectionLost, RegistrationError)):
            await bad.start()
        assert host.routing.owners("memory2") == ()
