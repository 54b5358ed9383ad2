"""GrpcWorkerRuntime over TLS and mutual TLS to our host (test PKI on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="the test PKI needs the cryptography package")

from pyruntime import AgentId, AgentRpcHost, GrpcWorkerRuntime, HostConnectionLost, TlsSettings
from pyruntime.host.options import HostOptions
from pyruntime.security.certs import write_test_pki

from .messages import Answer, Ask, EchoAgent


async def test_worker_over_mutual_tls(tmp_path: Path) -> None:
    pki = write_test_pki(tmp_path)
    options = HostOptions(tls_cert=pki.server.cert, tls_key=pki.server.key, tls_client_ca=pki.ca.cert)
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        address = f"127.0.0.1:{host.port}"
        tls = TlsSettings(
            root_certificates=pki.ca.cert.read_bytes(),
            certificate_chain=pki.client.cert.read_bytes(),
            private_key=pki.client.key.read_bytes(),
        )
        callee = GrpcWorkerRuntime(address, tls=tls, rpc_timeout=5)
        caller = GrpcWorkerRuntime(address, tls=tls, rpc_timeout=5)
        await EchoAgent.register(callee, "alpha")
        caller.add_message_types(Ask, Answer)
        async with callee, caller:
            assert (await caller.send_message(Ask("tls"), AgentId("alpha", "k"))).text == "alpha/k:tls:anonymous"
        # Without a client certificate the host refuses the connection: start() says so clearly.
        no_cert = GrpcWorkerRuntime(address, tls=TlsSettings(root_certificates=pki.ca.cert.read_bytes()), connect_timeout=1)
        with pytest.raises(HostConnectionLost, match="could not connect"):
            await no_cert.start()


async def test_worker_with_a_bearer_token(tmp_path: Path) -> None:
    from pyruntime.security.tokens import BearerTokenInterceptor, bearer_metadata

    options = HostOptions(interceptors=[BearerTokenInterceptor(("s3cret",))])
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        address = f"127.0.0.1:{host.port}"
        callee = GrpcWorkerRuntime(address, metadata=bearer_metadata("s3cret"), rpc_timeout=5)
        await EchoAgent.register(callee, "alpha")
        caller = GrpcWorkerRuntime(address, metadata=bearer_metadata("s3cret"), rpc_timeout=5)
        caller.add_message_types(Ask, Answer)
        async with callee, caller:
            assert (await caller.send_message(Ask("auth"), AgentId("alpha", "k"))).text == "alpha/k:auth:anonymous"
        intruder = GrpcWorkerRuntime(address, metadata=bearer_metadata("wrong"), connect_timeout=1)
        with pytest.raises(HostConnectionLost, match="UNAUTHENTICATED"):
            await intruder.start()
