"""What both runtimes share: agent directory, local subscriptions, handler tasks, state, lifecycle."""

from __future__ import annotations

import abc
import json
import logging
import signal
from typing import Any, Mapping, Optional

from ..model import AgentId, Subscription, TopicId
from .agent import Agent
from .cancellation import CancellationToken
from .context import MessageContext
from .directory import AgentDirectory
from .errors import CantHandle, RuntimeNotRunning
from .handler_tasks import HandlerTasks
from .runtime import DEFAULT_STOP_SIGNALS, AgentFactory, wait_for_signal
from .subscriptions import SubscriptionTable

log = logging.getLogger("pyruntime.worker")


class RuntimeBase(abc.ABC):
    """Shared machinery; subclasses add the transport (none for ``LocalRuntime``, gRPC otherwise)."""

    def __init__(self, *, max_concurrent_handlers: int = 1024) -> None:
        self._directory = AgentDirectory(self)  # type: ignore[arg-type]
        self._subscriptions = SubscriptionTable()
        self._max_concurrent_handlers = max_concurrent_handlers
        self._tasks: Optional[HandlerTasks] = None
        self._running = False
        self._stop_token = CancellationToken()

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self._running

    def _require_running(self) -> HandlerTasks:
        tasks = self._tasks
        if not self._running or tasks is None:
            raise RuntimeNotRunning("the runtime is not running: call 'await runtime.start()' first")
        return tasks

    async def start(self) -> None:
        """Start delivering messages (idempotent)."""
        if self._running:
            return
        self._tasks = HandlerTasks(self._max_concurrent_handlers)
        self._stop_token = CancellationToken()
        self._running = True

    async def stop(self) -> None:
        """Stop delivering; cancel running handlers and wait for them; close the agents."""
        if not self._running:
            return
        self._running = False
        self._stop_token.cancel()
        if self._tasks is not None:
            await self._tasks.close()
        await self._directory.close_all()

    async def stop_when_signal(self, signals: tuple[signal.Signals, ...] = DEFAULT_STOP_SIGNALS) -> None:
        """Run until SIGINT/SIGTERM (or the given signals), then stop."""
        await wait_for_signal(signals)
        await self.stop()

    async def __aenter__(self) -> "RuntimeBase":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- registration -------------------------------------------------------------------
    def add_message_types(self, *classes: type) -> None:
        """Declare message classes the agents exchange (handled types are added automatically)."""

    def _registered_types(self, expected_class: Optional[type]) -> None:
        if expected_class is not None and issubclass(expected_class, Agent):
            self.add_message_types(
                *expected_class.handled_types(), *expected_class.reply_types(), *expected_class.message_types
            )

    @abc.abstractmethod
    async def register_factory(
        self, agent_type: str, factory: AgentFactory, *, expected_class: Optional[type] = None
    ) -> str:
        """Register ``factory`` to build agents of ``agent_type`` on first use.

        Also subscribes the type to direct-message topics ``"<agent_type>:"`` (as AutoGen's
        workers do). Pass ``expected_class`` so message types are known before the first
        agent exists (``Agent.register`` does).
        """

    @abc.abstractmethod
    async def add_subscription(self, subscription: Subscription) -> None:
        """Route topics matching ``subscription`` to its agent type."""

    @abc.abstractmethod
    async def remove_subscription(self, subscription_id: str) -> None:
        """Stop routing for the subscription with this id."""

    def subscriptions(self) -> list[Subscription]:
        """This runtime's own subscriptions."""
        return self._subscriptions.all()

    # -- delivery to local agents ---------------------------------------------------------
    def _deliver_event(
        self, message: Any, topic: TopicId, sender: Optional[AgentId], message_id: str
    ) -> int:
        """Start a handler task for each local subscriber except the sender; return how many."""
        tasks = self._tasks
        if tasks is None or not self._running:
            return 0
        recipients = self._subscriptions.recipients(topic)
        if not recipients:
            return 0
        ctx = MessageContext(sender, topic, False, self._stop_token, message_id)
        count = 0
        for agent_id in recipients:
            if sender is not None and agent_id == sender:
                continue  # never deliver an agent's own event back to it
            tasks.spawn(self._run_event, agent_id, message, ctx)
            count += 1
        return count

    async def _run_event(self, agent_id: AgentId, message: Any, ctx: MessageContext) -> None:
        directory = self._directory
        agent = directory.existing(agent_id)
        if agent is None and not directory.has_type(agent_id.type):
            log.debug("event for unregistered agent type %s dropped", agent_id.type)
            return
        try:
            if agent is None:
                agent = await directory.get(agent_id)
            await agent.on_message(message, ctx)
        except CantHandle:
            # Subscribers often see event types they do not care about (AutoGen logs these too).
            log.debug("%s has no event handler for %s", agent_id, type(message).__name__)
        except Exception:
            log.exception("event handler of %s failed on %s", agent_id, type(message).__name__)

    # -- state ------------------------------------------------------------------------------
    async def save_agent_state(self, agent_id: AgentId) -> Mapping[str, Any]:
        """The saved state of one local agent (created if needed)."""
        agent = await self._directory.get(agent_id)
        return agent.save_state()

    async def load_agent_state(self, agent_id: AgentId, state: Mapping[str, Any]) -> None:
        """Load ``state`` into one local agent (created if needed)."""
        agent = await self._directory.get(agent_id)
        agent.load_state(state)

    async def save_state(self) -> dict[str, Mapping[str, Any]]:
        """The state of every agent created so far, keyed by ``"type/key"``."""
        return {str(agent.id): agent.save_state() for agent in self._directory.instances()}

    async def load_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        """Load what ``save_state`` returned (agents are created as needed)."""
        for id_text, agent_state in state.items():
            agent_id = AgentId.from_str(id_text)
            if self._directory.has_type(agent_id.type):
                await self.load_agent_state(agent_id, agent_state)


def state_to_text(state: Mapping[str, Any]) -> str:
    """The JSON text that carries an agent's state in Save/LoadState messages."""
    return json.dumps(dict(state))


def state_from_text(text: str) -> Mapping[str, Any]:
    value = json.loads(text) if text else {}
    if not isinstance(value, dict):
        raise ValueError(f"agent state must be a JSON object, got {type(value).__name__}")
    return value
