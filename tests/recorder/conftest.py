"""Fixtures for recorder tests: a recording proxy on 127.0.0.1:0 in front of a real host."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from conformance.recorder import RecordingProxy

ProxyFactory = Callable[[str], Awaitable[RecordingProxy]]


@pytest.fixture
async def start_proxy() -> AsyncIterator[ProxyFactory]:
    """``await start_proxy(upstream_address)``: a started proxy, stopped at teardown (if the test did not)."""
    started: list[RecordingProxy] = []

    async def start(upstream: str) -> RecordingProxy:
        proxy = RecordingProxy("127.0.0.1:0", upstream)
        await proxy.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        with contextlib.suppress(Exception):
            await proxy.stop(grace=0.1)
