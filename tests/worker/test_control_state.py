"""Agent state over the control channel, routed by our host to the worker that owns the agent."""

from __future__ import annotations

import pytest

from pyruntime import AgentId, GrpcWorkerRuntime, RpcError

from .messages import Answer, Ask, EchoAgent


async def test_save_and_load_state_remotely(address: str) -> None:
    owner = GrpcWorkerRuntime(address, rpc_timeout=5)
    other = GrpcWorkerRuntime(address, rpc_timeout=5)
    await EchoAgent.register(owner, "alpha")
    other.add_message_types(Ask, Answer)
    async with owner, other:
        for text in ("a", "b", "c"):
            await other.send_message(Ask(text), AgentId("alpha", "k"))
        agent = AgentId("alpha", "k")
        assert await other.save_agent_state_remote(agent, timeout=5) == {"counter": 3}
        await other.load_agent_state_remote(agent, {"counter": 41}, timeout=5)
        assert await owner.save_agent_state(agent) == {"counter": 41}  # local path
        # The generic methods go remote for types this worker does not host.
        await other.load_agent_state(agent, {"counter": 7})
        assert await other.save_agent_state(agent) == {"counter": 7}
        # A failing load_state comes back as an RpcError with the agent's error text.
        with pytest.raises(RpcError, match="load_state of alpha/k failed"):
            await other.load_agent_state_remote(agent, {"wrong": 1}, timeout=5)
