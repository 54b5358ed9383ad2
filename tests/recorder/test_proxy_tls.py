"""The recorder on TLS: TLS towards the workers and towards a TLS host (the test PKI)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from conformance.recorder import RecordingProxy
from conformance.recorder.proxy import ServerTls, UpstreamTls
from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc as pb_grpc
from pyruntime.host import AgentRpcHost, HostOptions

certs = pytest.importorskip("pyruntime.security.certs", reason="needs the cryptography package")


async def test_tls_on_both_sides(tmp_path: Path) -> None:
    pki = certs.write_test_pki(tmp_path / "pki")
    options = HostOptions(shutdown_grace=0.2, tls_cert=pki.server.cert, tls_key=pki.server.key)
    async with AgentRpcHost("127.0.0.1:0", options) as host:
        proxy = RecordingProxy(
            "127.0.0.1:0",
            host.address,
            server_tls=ServerTls(pki.server.cert.read_bytes(), pki.server.key.read_bytes()),
            upstream_tls=UpstreamTls(root_certificates=pki.ca.cert.read_bytes()),
        )
        address = await proxy.start()
        try:
            credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.cert.read_bytes())
            async with grpc.aio.secure_channel(address, credentials) as channel:
                stub = pb_grpc.AgentRpcStub(channel)
                await stub.RegisterAgent(pb.RegisterAgentTypeRequest(type="tls_a"), metadata=(("client-id", "t1"),), timeout=5)
            async with grpc.aio.insecure_channel(address) as plain:
                with pytest.raises(grpc.aio.AioRpcError) as failure:
                    await pb_grpc.AgentRpcStub(plain).GetSubscriptions(pb.GetSubscriptionsRequest(), metadata=(("client-id", "t2"),), timeout=2)
                assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            recording = await proxy.stop(grace=0.1)
    assert [(e.kind, e.stream, e.code) for e in recording.exchanges] == [("call", "RegisterAgent", "OK")]
