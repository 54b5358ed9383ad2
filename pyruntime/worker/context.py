"""What a handler knows about the message it handles, and what an agent knows about itself."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..model import AgentId, TopicId
from .cancellation import CancellationToken

if TYPE_CHECKING:
    from .runtime import AgentRuntime


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Delivery details passed to every handler next to the message.

    ``sender`` is None for anonymous messages; ``topic`` is set for published events and None
    for RPCs; ``is_rpc`` tells whether the handler's return value goes back to a caller.
    """

    sender: Optional[AgentId]
    topic: Optional[TopicId]
    is_rpc: bool
    cancellation: CancellationToken
    message_id: str


@dataclass(frozen=True, slots=True)
class AgentContext:
    """Where an agent lives: its id and the runtime that hosts it (set before the factory runs)."""

    id: AgentId
    runtime: "AgentRuntime"


_current: contextvars.ContextVar[AgentContext] = contextvars.ContextVar("pyruntime_agent_context")


def current_agent_context() -> AgentContext:
    """The context of the agent being constructed; only valid inside an agent factory."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError(
            "no agent is being constructed: agents are created by the runtime through the factory "
            "passed to register_factory, not instantiated directly"
        ) from None


def _enter(context: AgentContext) -> contextvars.Token[AgentContext]:
    return _current.set(context)


def _leave(token: contextvars.Token[AgentContext]) -> None:
    _current.reset(token)
