"""The host's routing state: clients, agent-type ownership, subscriptions, and who gets what.

Plain, synchronous and deterministic: no gRPC, no asyncio, no I/O. The servicer feeds it
decisions ("client X registered type T", "X's stream ended") and asks it questions ("which
clients receive an event of topic type T", "which client serves an RPC to type T"). A
connection is an opaque object here; routing only compares it by identity, which is what
keeps an old stream's cleanup from touching the state of the stream that replaced it.

Lifetimes:
- Registrations and subscriptions belong to the *client id* that made them.
- They end when that client's data stream ends (unless a newer stream with the same id
  replaced it), or, for a client that never opened a stream, when the servicer's grace
  timer calls :meth:`RoutingTable.release_if_streamless`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Literal, Union

from pyruntime.host.errors import (
    AgentTypeConflictError,
    DuplicateSubscriptionError,
    InvalidRequestError,
    SubscriptionNotFoundError,
    SubscriptionOwnershipError,
)
from pyruntime.model import TypePrefixSubscription, TypeSubscription

TypePolicy = Literal["unique", "shared"]
TYPE_POLICIES: tuple[TypePolicy, ...] = ("unique", "shared")
Subscription = Union[TypeSubscription, TypePrefixSubscription]

# Distinct topic types whose recipient lists are remembered; past this the cache starts
# over, so a peer publishing to endless fresh topic types cannot grow memory without bound.
EVENT_CACHE_LIMIT = 4096


@dataclass(eq=False)
class Client:
    """One client id and what it owns. Compared by identity (``eq=False``)."""

    client_id: str
    connection: object | None = None
    agent_types: list[str] = field(default_factory=list)
    subscription_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Released:
    """What was removed when a client went away (for logs and tests)."""

    client_id: str
    agent_types: tuple[str, ...]
    subscription_ids: tuple[str, ...]


@dataclass(frozen=True)
class OwnedSubscription:
    subscription: Subscription
    owner: str


def subscription_key(subscription: Subscription) -> tuple[str, str, str]:
    """(kind, topic type or prefix, agent type): two subscriptions with equal keys are duplicates."""
    if isinstance(subscription, TypeSubscription):
        return ("type", subscription.topic_type, subscription.agent_type)
    return ("prefix", subscription.topic_type_prefix, subscription.agent_type)


class RoutingTable:
    """Clients, agent-type owners and subscriptions, with cached event fan-out."""

    def __init__(self, policy: TypePolicy = "unique") -> None:
        if policy not in TYPE_POLICIES:
            raise ValueError(f"unknown type policy {policy!r}: use one of {', '.join(TYPE_POLICIES)}")
        self.policy: TypePolicy = policy
        self._clients: dict[str, Client] = {}
        self._owners: dict[str, list[Client]] = {}
        self._round_robin: dict[str, int] = {}
        self._subscriptions: dict[str, OwnedSubscription] = {}
        self._by_key: dict[tuple[str, str, str], str] = {}
        self._exact: dict[str, list[str]] = {}  # topic type -> agent types
        self._prefixes: list[tuple[str, str]] = []  # (prefix, agent type), in insertion order
        self._event_cache: dict[str, tuple[Client, ...]] = {}
        self._controls: dict[str, object] = {}

    # ----- clients and streams -------------------------------------------------------
    def client(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    def clients(self) -> list[Client]:
        return list(self._clients.values())

    def ensure_client(self, client_id: str) -> Client:
        """The client record for ``client_id``, created (without a stream) if needed."""
        client = self._clients.get(client_id)
        if client is None:
            client = self._clients[client_id] = Client(client_id)
        return client

    def attach_stream(self, client_id: str, connection: object) -> tuple[Client, object | None]:
        """Make ``connection`` the client's data stream; return the client and the stream it replaced."""
        client = self.ensure_client(client_id)
        previous, client.connection = client.connection, connection
        return client, previous

    def detach_stream(self, client_id: str, connection: object) -> Released | None:
        """The data stream ``connection`` ended: release everything the client owns.

        Does nothing (returns None) when a newer stream has replaced ``connection``.
        """
        client = self._clients.get(client_id)
        if client is None or client.connection is not connection:
            return None
        return self._remove_client(client)

    def release_if_streamless(self, client: Client) -> Released | None:
        """Release a client that registered or subscribed but never opened a data stream."""
        if self._clients.get(client.client_id) is not client or client.connection is not None:
            return None
        return self._remove_client(client)

    def _remove_client(self, client: Client) -> Released:
        del self._clients[client.client_id]
        for agent_type in client.agent_types:
            owners = self._owners.get(agent_type, [])
            if client in owners:
                owners.remove(client)
            if not owners:
                self._owners.pop(agent_type, None)
                self._round_robin.pop(agent_type, None)
        subscription_ids = sorted(client.subscription_ids)
        for subscription_id in subscription_ids:
            self._drop_subscription(subscription_id)
        self._event_cache.clear()
        return Released(client.client_id, tuple(client.agent_types), tuple(subscription_ids))

    # ----- control streams -----------------------------------------------------------
    def attach_control(self, client_id: str, connection: object) -> object | None:
        """Make ``connection`` the client's control stream; return the one it replaced."""
        previous = self._controls.get(client_id)
        self._controls[client_id] = connection
        return previous

    def detach_control(self, client_id: str, connection: object) -> bool:
        if self._controls.get(client_id) is connection:
            del self._controls[client_id]
            return True
        return False

    def control_stream(self, client_id: str) -> object | None:
        return self._controls.get(client_id)

    # ----- agent types ---------------------------------------------------------------
    def register_agent_type(self, client_id: str, agent_type: str) -> bool:
        """Bind ``agent_type`` to the client. True if new, False if the client already had it."""
        if not agent_type:
            raise InvalidRequestError("agent type is empty: set RegisterAgentTypeRequest.type")
        owners = self._owners.get(agent_type)
        if owners:
            if any(owner.client_id == client_id for owner in owners):
                return False
            if self.policy == "unique":
                raise AgentTypeConflictError(agent_type, owners[0].client_id)
        client = self.ensure_client(client_id)
        self._owners.setdefault(agent_type, []).append(client)
        client.agent_types.append(agent_type)
        self._event_cache.clear()
        return True

    def owners(self, agent_type: str) -> tuple[Client, ...]:
        return tuple(self._owners.get(agent_type, ()))

    def rpc_target(self, agent_type: str) -> Client | None:
        """The client that should serve the next RPC to ``agent_type``.

        One owner: that owner. Several (``shared``): round-robin over those with a live data
        stream. None when nobody registered the type. The result may lack a stream when no
        owner has one; the caller reports that.
        """
        owners = self._owners.get(agent_type)
        if not owners:
            return None
        count = len(owners)
        if count == 1:
            return owners[0]
        start = self._round_robin.get(agent_type, 0)
        for step in range(count):
            candidate = owners[(start + step) % count]
            if candidate.connection is not None:
                self._round_robin[agent_type] = (start + step + 1) % count
                return candidate
        return owners[start % count]

    def agent_owner(self, agent_type: str, key: str) -> Client | None:
        """The client that hosts agent ``type/key`` for control messages: stable per key."""
        owners = self._owners.get(agent_type)
        if not owners:
            return None
        live = [owner for owner in owners if owner.connection is not None] or owners
        return live[zlib.crc32(key.encode()) % len(live)] if len(live) > 1 else live[0]

    # ----- subscriptions -------------------------------------------------------------
    def add_subscription(self, client_id: str, subscription: Subscription) -> None:
        """Add a subscription owned by ``client_id``, with its id kept as given."""
        if not subscription.id:
            raise InvalidRequestError(
                "subscription id is empty: choose an id (a UUID is customary) so it can be removed later"
            )
        existing = self._subscriptions.get(subscription.id)
        if existing is not None:
            raise DuplicateSubscriptionError(
                f"a subscription with id {subscription.id!r} already exists (owned by client {existing.owner!r})"
            )
        key = subscription_key(subscription)
        same = self._by_key.get(key)
        if same is not None:
            raise DuplicateSubscriptionError(
                f"subscription {same!r} already routes {key[0]} {key[1]!r} to agent type {key[2]!r}; "
                "remove it first or keep using it"
            )
        client = self.ensure_client(client_id)
        self._subscriptions[subscription.id] = OwnedSubscription(subscription, client_id)
        self._by_key[key] = subscription.id
        client.subscription_ids.add(subscription.id)
        if isinstance(subscription, TypeSubscription):
            self._exact.setdefault(subscription.topic_type, []).append(subscription.agent_type)
        else:
            self._prefixes.append((subscription.topic_type_prefix, subscription.agent_type))
        self._event_cache.clear()

    def remove_subscription(self, client_id: str, subscription_id: str) -> Subscription:
        """Remove a subscription; only its owner may."""
        owned = self._subscriptions.get(subscription_id)
        if owned is None:
            raise SubscriptionNotFoundError(subscription_id)
        if owned.owner != client_id:
            raise SubscriptionOwnershipError(subscription_id, owned.owner)
        client = self._clients.get(client_id)
        if client is not None:
            client.subscription_ids.discard(subscription_id)
        self._drop_subscription(subscription_id)
        self._event_cache.clear()
        return owned.subscription

    def _drop_subscription(self, subscription_id: str) -> None:
        owned = self._subscriptions.pop(subscription_id)
        subscription = owned.subscription
        self._by_key.pop(subscription_key(subscription), None)
        if isinstance(subscription, TypeSubscription):
            agent_types = self._exact[subscription.topic_type]
            agent_types.remove(subscription.agent_type)
            if not agent_types:
                del self._exact[subscription.topic_type]
        else:
            self._prefixes.remove((subscription.topic_type_prefix, subscription.agent_type))

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, in the order added, ids as given."""
        return [owned.subscription for owned in self._subscriptions.values()]

    def subscription_owner(self, subscription_id: str) -> str | None:
        owned = self._subscriptions.get(subscription_id)
        return owned.owner if owned else None

    # ----- events --------------------------------------------------------------------
    def matched_agent_types(self, topic_type: str) -> list[str]:
        """Agent types whose subscriptions match: exact ones first, then prefixes, no repeats."""
        matched = dict.fromkeys(self._exact.get(topic_type, ()))
        for prefix, agent_type in self._prefixes:
            if topic_type.startswith(prefix):
                matched[agent_type] = None
        return list(matched)

    def event_recipients(self, topic_type: str) -> tuple[Client, ...]:
        """Clients that own a matched agent type: each once, however many types match."""
        cached = self._event_cache.get(topic_type)
        if cached is not None:
            return cached
        recipients: dict[Client, None] = {}
        for agent_type in self.matched_agent_types(topic_type):
            for owner in self._owners.get(agent_type, ()):
                recipients[owner] = None
        result = tuple(recipients)
        if len(self._event_cache) >= EVENT_CACHE_LIMIT:
            self._event_cache.clear()
        self._event_cache[topic_type] = result
        return result
