"""Counters the host keeps while it runs (read them from ``AgentRpcHost.stats``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class HostStats:
    """Running totals; plain integers bumped on the hot path (no locks: one event loop)."""

    events_received: int = 0
    events_delivered: int = 0  # copies written into client outboxes
    events_unrouted: int = 0  # no client owns a matched agent type
    rpc_forwarded: int = 0
    rpc_answered: int = 0
    rpc_errors_sent: int = 0  # RpcResponse.error made by the host (no target, timeout, disconnect, ...)
    rpc_timeouts: int = 0
    responses_unknown: int = 0  # response for an id the host is not waiting on: dropped
    frames_undecodable: int = 0
    messages_empty: int = 0  # Message / ControlMessage with nothing set
    frames_oversize: int = 0
    control_forwarded: int = 0
    control_dropped: int = 0
    streams_replaced: int = 0
    slow_streams_closed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
