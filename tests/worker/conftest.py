"""Fixtures for worker tests: our host in-process on a free port, and helpers."""

from __future__ import annotations

import socket
from typing import AsyncIterator

import pytest

from pyruntime import AgentRpcHost

from . import messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def host() -> AsyncIterator[AgentRpcHost]:
    async with AgentRpcHost("127.0.0.1:0") as running:
        yield running


@pytest.fixture
def address(host: AgentRpcHost) -> str:
    return f"127.0.0.1:{host.port}"


@pytest.fixture(autouse=True)
def recorder() -> messages.Recorder:
    messages.RECORDER = messages.Recorder()
    return messages.RECORDER
