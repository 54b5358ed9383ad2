"""pyruntime: an AgentRpc host and workers for AutoGen's distributed agent runtime protocol.

The public API is this flat namespace; the modules behind it are private details::

    from pyruntime import Agent, handler, MessageContext, AgentId, TopicId, LocalRuntime, GrpcWorkerRuntime

Names are loaded on first use, so ``agentrpc host`` does not import the worker and vice versa.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # addressing model
    "AgentId": "pyruntime.model",
    "TopicId": "pyruntime.model",
    "TypeSubscription": "pyruntime.model",
    "TypePrefixSubscription": "pyruntime.model",
    "Subscription": "pyruntime.model",
    "default_subscription": "pyruntime.model",
    "direct_message_subscription": "pyruntime.model",
    "InvalidIdentifierError": "pyruntime.model",
    # agent API
    "Agent": "pyruntime.worker.agent",
    "handler": "pyruntime.worker.agent",
    "event": "pyruntime.worker.agent",
    "rpc": "pyruntime.worker.agent",
    "subscribe": "pyruntime.worker.agent",
    "MessageContext": "pyruntime.worker.context",
    "AgentContext": "pyruntime.worker.context",
    "current_agent_context": "pyruntime.worker.context",
    "CancellationToken": "pyruntime.worker.cancellation",
    # runtimes
    "AgentRuntime": "pyruntime.worker.runtime",
    "AgentFactory": "pyruntime.worker.runtime",
    "DEFAULT_RPC_TIMEOUT": "pyruntime.worker.runtime",
    "LocalRuntime": "pyruntime.worker.local",
    "GrpcWorkerRuntime": "pyruntime.worker.grpc_runtime",
    "TlsSettings": "pyruntime.security.tls",
    "Backoff": "pyruntime.worker.connection",
    # errors
    "AgentRuntimeError": "pyruntime.worker.errors",
    "RuntimeNotRunning": "pyruntime.worker.errors",
    "RegistrationError": "pyruntime.worker.errors",
    "SubscriptionError": "pyruntime.worker.errors",
    "CantHandle": "pyruntime.worker.errors",
    "DeliveryError": "pyruntime.worker.errors",
    "RecipientNotFound": "pyruntime.worker.errors",
    "RpcError": "pyruntime.worker.errors",
    "PayloadError": "pyruntime.worker.errors",
    "RpcTimeout": "pyruntime.worker.errors",
    "RpcCancelled": "pyruntime.worker.errors",
    "HostConnectionLost": "pyruntime.worker.errors",
    # wire names people need
    "JSON": "pyruntime.wire",
    "PROTOBUF": "pyruntime.wire",
    "SerializationRegistry": "pyruntime.wire",
    "SerializationError": "pyruntime.wire",
    "type_name_of": "pyruntime.wire",
    # host
    "AgentRpcHost": "pyruntime.host.server",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from pyruntime.host.server import AgentRpcHost
    from pyruntime.model import (
        AgentId,
        InvalidIdentifierError,
        Subscription,
        TopicId,
        TypePrefixSubscription,
        TypeSubscription,
        default_subscription,
        direct_message_subscription,
    )
    from pyruntime.wire import JSON, PROTOBUF, SerializationError, SerializationRegistry, type_name_of
    from pyruntime.worker.agent import Agent, event, handler, rpc, subscribe
    from pyruntime.worker.cancellation import CancellationToken
    from pyruntime.security.tls import TlsSettings
    from pyruntime.worker.connection import Backoff
    from pyruntime.worker.context import AgentContext, MessageContext, current_agent_context
    from pyruntime.worker.errors import (
        AgentRuntimeError,
        CantHandle,
        DeliveryError,
        HostConnectionLost,
        PayloadError,
        RecipientNotFound,
        RegistrationError,
        RpcCancelled,
        RpcError,
        RpcTimeout,
        RuntimeNotRunning,
        SubscriptionError,
    )
    from pyruntime.worker.grpc_runtime import GrpcWorkerRuntime
    from pyruntime.worker.local import LocalRuntime
    from pyruntime.worker.runtime import DEFAULT_RPC_TIMEOUT, AgentFactory, AgentRuntime


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pyruntime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
