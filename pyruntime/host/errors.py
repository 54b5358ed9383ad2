"""Errors the host reports to clients, each tied to one gRPC status.

    HostError                      base class; ``status`` names a ``grpc.StatusCode`` member
    ├── MissingClientIdError       INVALID_ARGUMENT  no ``client-id`` metadata on a call
    ├── InvalidRequestError        INVALID_ARGUMENT  a request is structurally wrong (no oneof, empty id/type)
    ├── AgentTypeConflictError     ALREADY_EXISTS    ``unique`` policy: another client owns the type
    ├── DuplicateSubscriptionError ALREADY_EXISTS    same id, or same (topic/prefix, agent type)
    ├── SubscriptionNotFoundError  NOT_FOUND         removing an id nobody added
    ├── SubscriptionOwnershipError PERMISSION_DENIED removing another client's subscription
    └── HostShuttingDownError      UNAVAILABLE       the host is draining and takes no new work

The routing core raises these without knowing gRPC; the servicer turns ``status`` into a
``grpc.StatusCode`` and the message into the status details, so every message is written
for the person reading the client's error.
"""

from __future__ import annotations


class HostError(Exception):
    """Base class of every error the host answers with a gRPC status."""

    status: str = "INTERNAL"


class MissingClientIdError(HostError):
    status = "INVALID_ARGUMENT"

    def __init__(self) -> None:
        super().__init__(
            "missing client-id: send gRPC metadata ('client-id', '<a stable id for this worker>') on every call"
        )


class InvalidRequestError(HostError):
    status = "INVALID_ARGUMENT"


class AgentTypeConflictError(HostError):
    status = "ALREADY_EXISTS"

    def __init__(self, agent_type: str, owner: str) -> None:
        self.agent_type = agent_type
        self.owner = owner
        super().__init__(
            f"agent type {agent_type!r} is already registered by client {owner!r}; "
            "use another type name, stop that client, or run the host with --type-policy shared"
        )


class DuplicateSubscriptionError(HostError):
    status = "ALREADY_EXISTS"


class SubscriptionNotFoundError(HostError):
    status = "NOT_FOUND"

    def __init__(self, subscription_id: str) -> None:
        self.subscription_id = subscription_id
        super().__init__(
            f"no subscription with id {subscription_id!r}; GetSubscriptions lists the ids the host knows"
        )


class SubscriptionOwnershipError(HostError):
    status = "PERMISSION_DENIED"

    def __init__(self, subscription_id: str, owner: str) -> None:
        self.subscription_id = subscription_id
        self.owner = owner
        super().__init__(
            f"subscription {subscription_id!r} belongs to client {owner!r}; only the client that added it may remove it"
        )


class HostShuttingDownError(HostError):
    status = "UNAVAILABLE"

    def __init__(self) -> None:
        super().__init__("the host is shutting down; retry against a running host")
