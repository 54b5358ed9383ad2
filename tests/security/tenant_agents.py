"""Agents and messages for the tenant-isolation and worker-TLS tests (module level, so type hints resolve)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from pyruntime import Agent, MessageContext, event, rpc


@dataclass
class Fact:
    text: str


@dataclass
class Recall:
    pass


@dataclass
class Facts:
    owner: str
    texts: list[str] = field(default_factory=list)


class Memory(Agent):
    """Keeps the facts published to it. One instance per key, and the key is the topic source:
    so with a subscription per topic type, each tenant (source) gets its own instance and state."""

    def __init__(self) -> None:
        super().__init__("memory")
        self.texts: list[str] = []

    @event
    async def remember(self, message: Fact, ctx: MessageContext) -> None:
        self.texts.append(message.text)

    @rpc
    async def recall(self, message: Recall, ctx: MessageContext) -> Facts:
        return Facts(owner=str(self.id), texts=list(self.texts))

    def save_state(self) -> Mapping[str, Any]:
        return {"texts": list(self.texts)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.texts = list(state.get("texts", []))


async def register_memory(runtime: Any) -> None:
    """``agentrpc worker --agents tests.security.tenant_agents:register_memory``: a Memory agent on topic 'facts'."""
    from pyruntime import TypeSubscription

    await Memory.register(runtime, "memory")
    await runtime.add_subscription(TypeSubscription(topic_type="facts", agent_type="memory"))
