"""The addressing model shared by host, worker and tools: agents, topics, subscriptions.

These are plain values with no wire or network knowledge; ``pyruntime.wire.subscriptions``
converts them to and from the protobuf messages.

Identifier rules follow AutoGen's Python runtime (the strictest peer that accepts the most
real traffic): an agent type matches ``^[\\w\\-\\.]+\\Z``, a topic type ``^[\\w\\-\\.\\:\\=]+\\Z``,
keys and topic sources are free-form. ``validate=False`` constructors exist for the host,
which routes strings as given and must not reject what a .NET peer sends.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field
from typing import Union

AGENT_TYPE_PATTERN = re.compile(r"^[\w\-\.]+\Z")
TOPIC_TYPE_PATTERN = re.compile(r"^[\w\-\.\:\=]+\Z")


class InvalidIdentifierError(ValueError):
    """An agent type, agent id string or topic type does not follow AutoGen's rules."""


def check_agent_type(value: str) -> str:
    if not AGENT_TYPE_PATTERN.match(value):
        raise InvalidIdentifierError(
            f"invalid agent type {value!r}: use letters, digits, '_', '-' or '.' (AutoGen's rule ^[\\w\\-\\.]+$)"
        )
    return value


def check_topic_type(value: str) -> str:
    if not TOPIC_TYPE_PATTERN.match(value):
        raise InvalidIdentifierError(
            f"invalid topic type {value!r}: use letters, digits, '_', '-', '.', ':' or '=' (AutoGen's rule)"
        )
    return value


@dataclass(frozen=True, slots=True)
class AgentId:
    """One agent instance: its registered ``type`` and a ``key`` within that type."""

    type: str
    key: str

    def __post_init__(self) -> None:
        check_agent_type(self.type)

    @classmethod
    def from_str(cls, value: str) -> "AgentId":
        """Parse ``"type/key"`` (split on the first ``/``), as AutoGen's Python runtime does."""
        type_, sep, key = value.partition("/")
        if not sep:
            raise InvalidIdentifierError(f"invalid agent id {value!r}: expected 'type/key'")
        return cls(type_, key)

    def __str__(self) -> str:
        return f"{self.type}/{self.key}"


@dataclass(frozen=True, slots=True)
class TopicId:
    """A topic: ``type`` says what kind of event, ``source`` where it comes from (often a session)."""

    type: str
    source: str

    def __post_init__(self) -> None:
        check_topic_type(self.type)

    def __str__(self) -> str:
        return f"{self.type}/{self.source}"


# Interned constructors for receive paths. A worker sees the same few topics, senders and
# recipients on every message; validating (a regex) and building a frozen dataclass each time
# costs more than the rest of routing. Ids are immutable, so sharing instances is safe; the
# caches are bounded (LRU), and an invalid identifier raises every time (errors are not cached).
@functools.lru_cache(maxsize=4096)
def interned_agent_id(agent_type: str, key: str) -> AgentId:
    """``AgentId(agent_type, key)``, built and validated once per distinct id."""
    return AgentId(agent_type, key)


@functools.lru_cache(maxsize=4096)
def interned_topic_id(topic_type: str, source: str) -> TopicId:
    """``TopicId(topic_type, source)``, built and validated once per distinct topic."""
    return TopicId(topic_type, source)


def _new_subscription_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class TypeSubscription:
    """Events whose topic type equals ``topic_type`` go to agent ``(agent_type, topic.source)``."""

    topic_type: str
    agent_type: str
    id: str = field(default_factory=_new_subscription_id)

    def is_match(self, topic_type: str) -> bool:
        return topic_type == self.topic_type

    def map_to_agent(self, topic: TopicId) -> AgentId:
        return AgentId(self.agent_type, topic.source)


@dataclass(frozen=True, slots=True)
class TypePrefixSubscription:
    """Events whose topic type starts with ``topic_type_prefix`` go to ``(agent_type, topic.source)``."""

    topic_type_prefix: str
    agent_type: str
    id: str = field(default_factory=_new_subscription_id)

    def is_match(self, topic_type: str) -> bool:
        return topic_type.startswith(self.topic_type_prefix)

    def map_to_agent(self, topic: TopicId) -> AgentId:
        return AgentId(self.agent_type, topic.source)


Subscription = Union[TypeSubscription, TypePrefixSubscription]

DEFAULT_TOPIC_TYPE = "default"


def default_subscription(agent_type: str, topic_type: str = DEFAULT_TOPIC_TYPE) -> TypeSubscription:
    """The subscription AutoGen calls ``DefaultSubscription``: topic type "default" to this agent type."""
    return TypeSubscription(topic_type=topic_type, agent_type=agent_type)


def direct_message_subscription(agent_type: str) -> TypePrefixSubscription:
    """The prefix subscription both reference workers add for every agent type (``"<type>:"``)."""
    return TypePrefixSubscription(topic_type_prefix=f"{agent_type}:", agent_type=agent_type)


def same_target(a: Subscription, b: Subscription) -> bool:
    """True when two subscriptions route the same topics to the same agent type (ids aside)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, TypeSubscription):
        return (a.topic_type, a.agent_type) == (b.topic_type, b.agent_type)  # type: ignore[union-attr]
    return (a.topic_type_prefix, a.agent_type) == (b.topic_type_prefix, b.agent_type)  # type: ignore[union-attr]
