"""The interface both runtimes implement, so the same agent code runs locally or distributed."""

from __future__ import annotations

import asyncio
import signal
from typing import Any, Awaitable, Callable, Mapping, Optional, Protocol, Union, runtime_checkable

from ..model import AgentId, Subscription, TopicId
from .agent import _DEFAULT, Agent
from .cancellation import CancellationToken

DEFAULT_RPC_TIMEOUT: float = 30.0
"""Seconds ``send_message`` waits for a reply unless the runtime or the call says otherwise."""


DEFAULT: Any = _DEFAULT
"""The ``timeout`` default of ``send_message``: the runtime's ``rpc_timeout`` (``None``: for ever)."""

AgentFactory = Callable[[], Union[Agent, Awaitable[Agent]]]
"""Builds one agent instance; ``self.id``/``self.runtime`` are available in its constructor."""


@runtime_checkable
class AgentRuntime(Protocol):
    """What agents and applications may call on a runtime (``LocalRuntime``, ``GrpcWorkerRuntime``)."""

    async def register_factory(
        self, agent_type: str, factory: AgentFactory, *, expected_class: Optional[type] = None
    ) -> str: ...

    async def add_subscription(self, subscription: Subscription) -> None: ...

    async def remove_subscription(self, subscription_id: str) -> None: ...

    async def send_message(
        self,
        message: Any,
        recipient: AgentId,
        *,
        sender: Optional[AgentId] = None,
        timeout: Optional[float] = DEFAULT,
        cancellation: Optional[CancellationToken] = None,
    ) -> Any: ...

    async def publish_message(
        self,
        message: Any,
        topic: TopicId,
        *,
        sender: Optional[AgentId] = None,
        message_id: Optional[str] = None,
    ) -> None: ...

    def add_message_types(self, *classes: type) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def stop_when_signal(self, signals: tuple[signal.Signals, ...] = ...) -> None: ...

    async def save_state(self) -> dict[str, Mapping[str, Any]]: ...

    async def load_state(self, state: Mapping[str, Mapping[str, Any]]) -> None: ...

    async def save_agent_state(self, agent_id: AgentId) -> Mapping[str, Any]: ...

    async def load_agent_state(self, agent_id: AgentId, state: Mapping[str, Any]) -> None: ...


async def wait_for_signal(signals: tuple[signal.Signals, ...]) -> signal.Signals:
    """Wait until one of ``signals`` arrives (the handlers are removed again afterwards)."""
    loop = asyncio.get_running_loop()
    received: asyncio.Future[signal.Signals] = loop.create_future()

    def on_signal(sig: signal.Signals) -> None:
        if not received.done():
            received.set_result(sig)

    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await received
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


DEFAULT_STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
