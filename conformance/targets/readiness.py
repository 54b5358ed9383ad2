"""Wait until a target answers a real AgentRpc call."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc

from conformance.targets.base import Endpoint, TargetUnavailable
from conformance.targets.channel import open_channel
from pyruntime._proto import agent_worker_pb2, agent_worker_pb2_grpc


async def _probe(endpoint: Endpoint, deadline: float) -> grpc.StatusCode | None:
    """One GetSubscriptions call; returns its status code (None = OK)."""
    async with open_channel(endpoint) as channel:
        stub = agent_worker_pb2_grpc.AgentRpcStub(channel)
        metadata = (("client-id", f"readiness-{uuid.uuid4()}"), *endpoint.auth_metadata())
        try:
            await stub.GetSubscriptions(
                agent_worker_pb2.GetSubscriptionsRequest(),
                metadata=metadata,
                timeout=max(0.2, min(2.0, deadline - time.monotonic())),
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return None


def wait_until_serving(endpoint: Endpoint, timeout: float) -> None:
    """Call GetSubscriptions until the target answers with any status other than UNAVAILABLE.

    Raises TargetUnavailable after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last: str = "no attempt made"
    while time.monotonic() < deadline:
        code = asyncio.run(_probe(endpoint, deadline))
        if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return
        last = code.name
        time.sleep(0.1)
    raise TargetUnavailable(f"target at {endpoint.address} did not answer within {timeout:.0f}s (last status {last})")
