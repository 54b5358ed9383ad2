"""The same fuzzing, against a host behind the security interceptors (token check, client-id
binding, tenant name spaces keyed by the token): the guards parse hostile frames too, and must
refuse with PERMISSION_DENIED or pass them on, never break the host or its healthy clients.
"""

from __future__ import annotations

import logging
from typing import Iterator

import grpc
import pytest

from pyruntime._proto import agent_worker_pb2 as pb

from pyruntime.security import (
    BearerTokenInterceptor,
    ClientIdGuard,
    TenantNamespaceGuard,
    bearer_metadata,
    tenant_from_tokens,
)
from tests.security.test_fuzz_host import (
    HEALTHY_TYPE,
    FuzzTarget,
    LoopThread,
    fuzz_control_stream,
    fuzz_data_stream,
    test_fuzzed_unary_requests,  # noqa: F401  (collected here too, against this module's guarded target)
)

pytestmark = pytest.mark.slow

TOKEN = "fuzz-tenant-token"


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[LoopThread, FuzzTarget]]:
    logging.getLogger("pyruntime.host").setLevel(logging.ERROR)
    # Tenant "fuzz" with separator "-": the healthy clients' names (fuzz-healthy, fuzz-health-topic) are inside.
    guards = (
        BearerTokenInterceptor([TOKEN]),
        ClientIdGuard(),
        TenantNamespaceGuard(tenant_of=tenant_from_tokens({TOKEN: "fuzz"}), separator="-"),
    )
    loop = LoopThread()
    fuzz = FuzzTarget(
        interceptors=guards, extra_metadata=bearer_metadata(TOKEN), probe_type="fuzz-nobody",
        refusals=frozenset({grpc.StatusCode.PERMISSION_DENIED}),
    )
    assert HEALTHY_TYPE.startswith("fuzz-")
    try:
        loop.run(fuzz.start())
        yield loop, fuzz
        loop.run(fuzz.probe())
    finally:
        loop.run(fuzz.stop())
        loop.close()
        logging.getLogger("pyruntime.host").setLevel(logging.NOTSET)


def refuse_outside(target: tuple[LoopThread, FuzzTarget], kind: str, frame: bytes) -> None:
    """One frame that names something outside the tenant: the guard must cut that stream.

    Fuzzing draws such frames most runs but not every run (it is randomised), so the refusal
    path is also checked with a frame chosen for it, and the outcome counted with the others.
    """
    loop, fuzz = target
    code, _ = loop.run(fuzz.stream_frames(kind, "fuzz-outsider", [frame]))
    assert code == grpc.StatusCode.PERMISSION_DENIED, (code, fuzz.last_details)
    fuzz.stream_codes[code] = fuzz.stream_codes.get(code, 0) + 1
    loop.run(fuzz.probe())


def test_guarded_data_stream_frames(target: tuple[LoopThread, FuzzTarget]) -> None:
    fuzz = target[1]
    fuzz_data_stream(target)
    outside = pb.Message(request=pb.RpcRequest(request_id="1", target=pb.AgentId(type="other-tenant", key="k")))
    refuse_outside(target, "data", outside.SerializeToString())
    # Both outcomes happened: frames outside the name space were cut, others reached the host.
    assert fuzz.stream_codes.get(grpc.StatusCode.PERMISSION_DENIED, 0) > 0, fuzz.stream_codes
    assert fuzz.stream_codes.get(grpc.StatusCode.OK, 0) > 0, fuzz.stream_codes
    assert fuzz.host.stats.frames_undecodable > 0


def test_guarded_control_stream_frames(target: tuple[LoopThread, FuzzTarget]) -> None:
    fuzz = target[1]
    fuzz.stream_codes.clear()
    fuzz_control_stream(target)
    refuse_outside(target, "control", pb.ControlMessage(rpc_id="1", destination="agentid=other-tenant/k").SerializeToString())
    assert fuzz.stream_codes.get(grpc.StatusCode.PERMISSION_DENIED, 0) > 0, fuzz.stream_codes
    assert fuzz.stream_codes.get(grpc.StatusCode.OK, 0) > 0, fuzz.stream_codes
