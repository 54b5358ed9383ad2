"""Convert subscriptions and agent ids between ``pyruntime.model`` and the protobuf messages."""

from __future__ import annotations

from pyruntime._proto import agent_worker_pb2
from pyruntime.model import AgentId, Subscription, TypePrefixSubscription, TypeSubscription

from .cloudevent import AgentRef
from .errors import InvalidSubscriptionError


def subscription_to_proto(subscription: Subscription) -> agent_worker_pb2.Subscription:
    message = agent_worker_pb2.Subscription(id=subscription.id)
    if isinstance(subscription, TypeSubscription):
        message.typeSubscription.topic_type = subscription.topic_type
        message.typeSubscription.agent_type = subscription.agent_type
    else:
        message.typePrefixSubscription.topic_type_prefix = subscription.topic_type_prefix
        message.typePrefixSubscription.agent_type = subscription.agent_type
    return message


def subscription_from_proto(message: agent_worker_pb2.Subscription) -> Subscription:
    """The model subscription; ids are kept exactly as given (even empty)."""
    kind = message.WhichOneof("subscription")
    if kind == "typeSubscription":
        sub = message.typeSubscription
        return TypeSubscription(topic_type=sub.topic_type, agent_type=sub.agent_type, id=message.id)
    if kind == "typePrefixSubscription":
        pre = message.typePrefixSubscription
        return TypePrefixSubscription(topic_type_prefix=pre.topic_type_prefix, agent_type=pre.agent_type, id=message.id)
    raise InvalidSubscriptionError(
        "subscription has neither typeSubscription nor typePrefixSubscription set; set exactly one"
    )


def agent_id_to_proto(agent: AgentId | AgentRef) -> agent_worker_pb2.AgentId:
    return agent_worker_pb2.AgentId(type=agent.type, key=agent.key)


def agent_ref_from_proto(message: agent_worker_pb2.AgentId) -> AgentRef:
    return AgentRef(message.type, message.key)
