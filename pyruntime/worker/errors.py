"""Errors raised by the agent runtimes (local and gRPC).

    AgentRuntimeError                 base class of everything a runtime raises on purpose
    ├── RuntimeNotRunning             start() was not called, or stop() already was
    ├── RegistrationError             an agent type is registered twice, the factory built the
    │                                 wrong class, or the host refused the type
    ├── SubscriptionError             the host refused to add or remove a subscription
    ├── CantHandle                    an agent has no handler for a message's type
    └── DeliveryError                 a message could not be delivered or answered
        ├── RecipientNotFound         no such agent type (or key) where the message went
        ├── RpcError                  the recipient's handler failed; ``remote_error`` is its text
        ├── PayloadError              a request or reply could not be encoded or decoded
        ├── RpcTimeout                no reply within the timeout (also a ``TimeoutError``)
        ├── RpcCancelled              the caller's CancellationToken was cancelled
        └── HostConnectionLost        the stream to the host broke (also a ``ConnectionError``)

Every ``send_message`` failure is a ``DeliveryError``, so ``except DeliveryError`` catches
all the ways an RPC can fail without also swallowing programming errors.
"""

from __future__ import annotations


class AgentRuntimeError(Exception):
    """Base class of the errors agent runtimes raise."""


class RuntimeNotRunning(AgentRuntimeError):
    """The runtime is not started (call ``await runtime.start()``) or is already stopped."""


class RegistrationError(AgentRuntimeError):
    """An agent type cannot be registered (duplicate, wrong class, or refused by the host)."""


class SubscriptionError(AgentRuntimeError):
    """A subscription cannot be added or removed (duplicate, unknown id, or refused by the host)."""


class CantHandle(AgentRuntimeError):
    """An agent has no handler for the message's type (or for this kind of delivery)."""


class DeliveryError(AgentRuntimeError):
    """A message could not be delivered or its reply could not be obtained."""


class RecipientNotFound(DeliveryError):
    """No agent of the recipient's type is registered where the message was sent."""


class RpcError(DeliveryError):
    """The recipient's handler failed; ``remote_error`` carries the error text it reported."""

    def __init__(self, remote_error: str) -> None:
        super().__init__(remote_error)
        self.remote_error = remote_error


class PayloadError(DeliveryError):
    """A request or reply could not be encoded or decoded (register the type, or check its format)."""


class RpcTimeout(DeliveryError, TimeoutError):
    """No reply arrived within the timeout; the recipient may still be running the handler."""


class RpcCancelled(DeliveryError):
    """The caller cancelled the request through its CancellationToken."""


class HostConnectionLost(DeliveryError, ConnectionError):
    """The connection to the host broke; the runtime reconnects, but this call is lost."""
