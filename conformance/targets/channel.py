"""Open a grpc.aio channel to an endpoint, with TLS when the endpoint asks for it."""

from __future__ import annotations

import grpc

from conformance.targets.base import Endpoint

# Large enough for the oversize-frame cases to reach the host (the host decides the limit, not us).
CHANNEL_OPTIONS: list[tuple[str, int]] = [
    ("grpc.use_local_subchannel_pool", 1),  # one connection per peer, as separate workers would have
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def open_channel(endpoint: Endpoint) -> grpc.aio.Channel:
    """A new channel to ``endpoint`` (use as ``async with``)."""
    options = list(CHANNEL_OPTIONS)
    tls = endpoint.tls
    if tls is None:
        return grpc.aio.insecure_channel(endpoint.address, options=options)
    return grpc.aio.secure_channel(endpoint.address, tls.channel_credentials(), options=[*options, *tls.channel_options()])
