"""Start and stop the host side of a stack inside the host process."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager
from typing import AsyncIterator

from benchmarks.stacks import GRPC_SIZE_OPTIONS


def _free_port() -> int:
    # autogen's host cannot report the port it bound for ":0", so pick one first (loopback only).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_host(kind: str) -> AsyncIterator[str]:
    """Yields the ``HOST:PORT`` of a started host of ``kind``; stops it on exit."""
    if kind == "ours":
        from pyruntime.host import AgentRpcHost

        async with AgentRpcHost("127.0.0.1:0") as host:
            yield host.address
    elif kind == "autogen":
        from autogen_ext.runtimes.grpc import GrpcWorkerAgentRuntimeHost

        address = f"127.0.0.1:{_free_port()}"
        host = GrpcWorkerAgentRuntimeHost(address, extra_grpc_config=GRPC_SIZE_OPTIONS)
        host.start()
        await asyncio.sleep(0)  # let the serve task start the server before workers connect
        try:
            yield address
        finally:
            await host.stop(grace=1)
    elif kind == "raw":
        from benchmarks.stacks.raw import RawRouter

        async with RawRouter() as router:
            yield router.address
    else:
        raise ValueError(f"unknown host kind {kind!r}")
