"""What crosses the proxy besides messages: request/response metadata, deadlines, status."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import grpc

# Set by the gRPC transport itself on each hop; forwarding them would duplicate or contradict it.
_HOP_BY_HOP: Final = frozenset({"user-agent", "content-type", "te", "host", "authority", "accept-encoding"})

MetadataItems = tuple[tuple[str, str | bytes], ...]


def forwardable(metadata: Iterable[tuple[str, str | bytes]] | None) -> MetadataItems:
    """Application metadata (client-id, authorization, traceparent, ...): everything but transport keys."""
    if not metadata:
        return ()
    return tuple(
        (key, value)
        for key, value in metadata
        if not key.startswith((":", "grpc-")) and key.lower() not in _HOP_BY_HOP
    )


def client_id_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The caller's ``client-id`` metadata value, or None when it sent none."""
    for key, value in metadata or ():
        if key == "client-id":
            return value.decode(errors="replace") if isinstance(value, bytes) else value
    return None


def remaining_deadline(context: grpc.aio.ServicerContext) -> float | None:
    """Seconds left on the caller's deadline, to pass upstream (None = the caller set none)."""
    remaining = context.time_remaining()
    if remaining is None or remaining > 365 * 24 * 3600:  # "no deadline" shows up as a huge number
        return None
    return max(0.001, remaining)
