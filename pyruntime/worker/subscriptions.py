"""A runtime's own subscription list and the "who receives this topic" lookup, cached per topic type."""

from __future__ import annotations

from typing import Optional

from ..model import AgentId, Subscription, TopicId, TypePrefixSubscription, TypeSubscription, interned_agent_id, same_target
from .errors import SubscriptionError


class SubscriptionTable:
    """Subscriptions by id, with the matching agent types cached per topic type."""

    def __init__(self) -> None:
        self._by_id: dict[str, Subscription] = {}
        self._agent_types_by_topic: dict[str, tuple[str, ...]] = {}

    def check_new(self, subscription: Subscription) -> None:
        """Raise ``SubscriptionError`` when ``subscription`` duplicates an existing one."""
        if not isinstance(subscription, (TypeSubscription, TypePrefixSubscription)):
            raise SubscriptionError(f"unsupported subscription {subscription!r}")
        if subscription.id in self._by_id:
            raise SubscriptionError(f"a subscription with id {subscription.id!r} already exists")
        for existing in self._by_id.values():
            if same_target(existing, subscription):
                raise SubscriptionError(f"subscription {subscription!r} duplicates {existing.id!r}")

    def add(self, subscription: Subscription) -> None:
        self.check_new(subscription)
        self._by_id[subscription.id] = subscription
        self._agent_types_by_topic.clear()

    def get(self, subscription_id: str) -> Optional[Subscription]:
        return self._by_id.get(subscription_id)

    def remove(self, subscription_id: str) -> Subscription:
        try:
            subscription = self._by_id.pop(subscription_id)
        except KeyError:
            raise SubscriptionError(f"no subscription with id {subscription_id!r}") from None
        self._agent_types_by_topic.clear()
        return subscription

    def all(self) -> list[Subscription]:
        return list(self._by_id.values())

    def agent_types_for(self, topic_type: str) -> tuple[str, ...]:
        found = self._agent_types_by_topic.get(topic_type)
        if found is None:
            types: dict[str, None] = {}
            for subscription in self._by_id.values():
                if subscription.is_match(topic_type):
                    types[subscription.agent_type] = None
            found = tuple(types)
            self._agent_types_by_topic[topic_type] = found
        return found

    def recipients(self, topic: TopicId) -> list[AgentId]:
        """The agents an event on ``topic`` goes to (key = topic source, as in AutoGen)."""
        source = topic.source
        return [interned_agent_id(agent_type, source) for agent_type in self.agent_types_for(topic.type)]
