"""Control-channel destinations: ``clientid=<client id>`` and ``agentid=<type>/<key>``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


class MalformedDestinationError(ValueError):
    """A ControlMessage.destination the host cannot route."""


@dataclass(frozen=True, slots=True)
class ClientDestination:
    """Deliver to the control stream of this client id."""

    client_id: str


@dataclass(frozen=True, slots=True)
class AgentDestination:
    """Deliver to the control stream of the client that owns ``agent_type``."""

    agent_type: str
    key: str


Destination = Union[ClientDestination, AgentDestination]

CLIENT_PREFIX = "clientid="
AGENT_PREFIX = "agentid="


def parse_destination(value: str) -> Destination:
    """Parse a destination string; raise :class:`MalformedDestinationError` saying what is wrong.

    ``agentid=`` takes ``type/key`` split on the first ``/`` (AutoGen's rule); the key may be
    empty, the type may not. Strings are otherwise taken as given: the host does not judge
    identifier rules, so it can route for peers in any language.
    """
    if value.startswith(CLIENT_PREFIX):
        client_id = value[len(CLIENT_PREFIX) :]
        if not client_id:
            raise MalformedDestinationError("destination 'clientid=' has no client id: use 'clientid=<client-id>'")
        return ClientDestination(client_id)
    if value.startswith(AGENT_PREFIX):
        agent_type, sep, key = value[len(AGENT_PREFIX) :].partition("/")
        if not sep or not agent_type:
            raise MalformedDestinationError(
                f"destination {value[:120]!r} is not 'agentid=<type>/<key>' (the '/' and the type are required)"
            )
        return AgentDestination(agent_type, key)
    raise MalformedDestinationError(
        f"destination {value[:120]!r} has no known prefix: use 'clientid=<client-id>' or 'agentid=<type>/<key>'"
    )
