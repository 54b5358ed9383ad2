"""Agent types and instances in one runtime: factories, lazy creation, state of all agents."""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Optional

from ..model import AgentId, check_agent_type
from .agent import Agent
from .context import AgentContext, _enter, _leave
from .errors import RecipientNotFound, RegistrationError

if TYPE_CHECKING:
    from .runtime import AgentFactory, AgentRuntime

log = logging.getLogger("pyruntime.worker")


@dataclass(frozen=True)
class AgentTypeEntry:
    agent_type: str
    factory: "AgentFactory"
    expected_class: Optional[type]


class AgentDirectory:
    """Registered agent types and the instances created so far (one per ``AgentId``)."""

    def __init__(self, runtime: "AgentRuntime") -> None:
        self._runtime = runtime
        self._types: dict[str, AgentTypeEntry] = {}
        # Keyed by (type, key): a request names its target as two strings, and looking the agent
        # up by them skips building (and validating) an AgentId on every RPC.
        self._instances: dict[tuple[str, str], Agent] = {}
        self._creating: dict[AgentId, asyncio.Future[Agent]] = {}

    def register(self, agent_type: str, factory: "AgentFactory", expected_class: Optional[type]) -> AgentTypeEntry:
        check_agent_type(agent_type)
        if agent_type in self._types:
            raise RegistrationError(f"agent type {agent_type!r} is already registered in this runtime")
        if not callable(factory):
            raise RegistrationError(f"the factory for {agent_type!r} is not callable")
        entry = AgentTypeEntry(agent_type, factory, expected_class)
        self._types[agent_type] = entry
        return entry

    def unregister(self, agent_type: str) -> None:
        self._types.pop(agent_type, None)

    def has_type(self, agent_type: str) -> bool:
        return agent_type in self._types

    @property
    def agent_types(self) -> list[str]:
        return list(self._types)

    def instances(self) -> Iterator[Agent]:
        return iter(list(self._instances.values()))

    def existing(self, agent_id: AgentId) -> Optional[Agent]:
        return self._instances.get((agent_id.type, agent_id.key))

    def existing_named(self, agent_type: str, key: str) -> Optional[Agent]:
        """The agent ``agent_type/key`` if it has been created already (the RPC fast path)."""
        return self._instances.get((agent_type, key))

    async def get(self, agent_id: AgentId) -> Agent:
        """The agent with this id, created by its type's factory on first use."""
        agent = self._instances.get((agent_id.type, agent_id.key))
        if agent is not None:
            return agent
        pending = self._creating.get(agent_id)
        if pending is not None:
            # Another handler is already creating it: never build the same agent twice.
            return await asyncio.shield(pending)
        entry = self._types.get(agent_id.type)
        if entry is None:
            raise RecipientNotFound(f"no agent type {agent_id.type!r} is registered in this runtime")
        future: asyncio.Future[Agent] = asyncio.get_running_loop().create_future()
        self._creating[agent_id] = future
        try:
            agent = await self._create(entry, agent_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody is told "never retrieved"
            raise
        finally:
            del self._creating[agent_id]
        self._instances[(agent_id.type, agent_id.key)] = agent
        future.set_result(agent)
        return agent

    async def _create(self, entry: AgentTypeEntry, agent_id: AgentId) -> Agent:
        token = _enter(AgentContext(agent_id, self._runtime))
        try:
            made: Any = entry.factory()
            if inspect.isawaitable(made):
                made = await made
        finally:
            _leave(token)
        if entry.expected_class is not None and not isinstance(made, entry.expected_class):
            raise RegistrationError(
                f"the factory for {entry.agent_type!r} built a {type(made).__name__}, "
                f"expected {entry.expected_class.__name__}"
            )
        if not isinstance(made, Agent):
            raise RegistrationError(
                f"the factory for {entry.agent_type!r} built a {type(made).__name__}, which is not an Agent"
            )
        made._bind(agent_id, self._runtime)
        return made

    async def close_all(self) -> None:
        for agent in self.instances():
            try:
                await agent.close()
            except Exception:
                log.exception("agent %s failed to close", agent.id)
        self._instances.clear()
