"""HostOptions: everything that configures an AgentRpcHost."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from pyruntime.host.routing import TYPE_POLICIES, TypePolicy
from pyruntime.host.rpc import DEFAULT_RPC_TIMEOUT


class HostConfigError(ValueError):
    """HostOptions or command-line values that cannot work together."""


DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class HostOptions:
    """How the host behaves. Every field has a working default.

    ``max_message_bytes`` is checked per message by the host: a larger frame is refused on
    its own (an RpcResponse.error for a request, a warning for anything else) and the stream
    keeps going. gRPC's transport limit is set higher (``transport_max_bytes``, by default
    4x) so such frames reach the host at all; a frame over *that* ends its one stream with
    RESOURCE_EXHAUSTED, which gRPC decides before the host sees a byte.
    """

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    transport_max_bytes: int | None = None
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT
    type_policy: TypePolicy = "unique"
    # A client that registers or subscribes without ever opening a data stream loses
    # those registrations after this many seconds (the reference host keeps them forever).
    registration_grace: float = 30.0
    # Frames queued per stream before publishers wait (backpressure) ...
    outbound_queue_size: int = 1024
    # ... and how long they wait before the non-reading stream is closed.
    send_timeout: float = 10.0
    # On stop: how long in-flight RPCs and queued frames get to finish.
    shutdown_grace: float = 5.0
    tls_cert: Path | str | None = None
    tls_key: Path | str | None = None
    tls_client_ca: Path | str | None = None  # set for mutual TLS: clients must present a cert it signed
    # The hook for authentication (e.g. a bearer-token check): grpc.aio server interceptors.
    interceptors: Sequence[Any] = field(default_factory=tuple)
    grpc_options: Sequence[tuple[str, Any]] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.max_message_bytes < 1024:
            raise HostConfigError("max_message_bytes must be at least 1024")
        if self.transport_max_bytes is not None and self.transport_max_bytes < self.max_message_bytes:
            raise HostConfigError("transport_max_bytes must be at least max_message_bytes")
        for name in ("rpc_timeout", "registration_grace", "send_timeout"):
            if getattr(self, name) <= 0:
                raise HostConfigError(f"{name} must be a positive number of seconds")
        if self.shutdown_grace < 0:
            raise HostConfigError("shutdown_grace must not be negative")
        if self.outbound_queue_size < 1:
            raise HostConfigError("outbound_queue_size must be at least 1")
        if self.type_policy not in TYPE_POLICIES:
            raise HostConfigError(f"type_policy must be one of {', '.join(TYPE_POLICIES)}, not {self.type_policy!r}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise HostConfigError("TLS needs both tls_cert and tls_key (PEM files)")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise HostConfigError("tls_client_ca (mutual TLS) needs tls_cert and tls_key too")

    @property
    def effective_transport_max_bytes(self) -> int:
        if self.transport_max_bytes is not None:
            return self.transport_max_bytes
        return max(4 * self.max_message_bytes, self.max_message_bytes + 64 * 1024)

    @property
    def uses_tls(self) -> bool:
        return self.tls_cert is not None
