"""Fixtures for host tests: real hosts on 127.0.0.1:0 and raw gRPC peers."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator, Awaitable, Callable

import pytest

from pyruntime.host import AgentRpcHost, HostOptions
from tests.host.raw_peer import RawPeer

HostFactory = Callable[..., Awaitable[AgentRpcHost]]
PeerFactory = Callable[..., RawPeer]


@pytest.fixture
async def start_host() -> AsyncIterator[HostFactory]:
    """``await start_host(rpc_timeout=0.2, ...)``: a started host, stopped at teardown."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**options: object) -> AgentRpcHost:
            options.setdefault("shutdown_grace", 0.5)
            host = AgentRpcHost("127.0.0.1:0", HostOptions(**options))  # type: ignore[arg-type]
            return await stack.enter_async_context(host)

        yield start


@pytest.fixture
async def host(start_host: HostFactory) -> AgentRpcHost:
    return await start_host(rpc_timeout=5.0)


@pytest.fixture
async def peers() -> AsyncIterator[PeerFactory]:
    """``peers(host_or_address, "A")``: a raw client with client-id "A"; all closed at teardown."""
    made: list[RawPeer] = []

    def make(host: AgentRpcHost | str, client_id: str | None, **kwargs: object) -> RawPeer:
        address = host if isinstance(host, str) else host.address
        peer = RawPeer(address, client_id, **kwargs)  # type: ignore[arg-type]
        made.append(peer)
        return peer

    yield make
    for peer in made:
        await peer.close()
