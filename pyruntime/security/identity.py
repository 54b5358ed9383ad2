"""Bind each ``client-id`` to the authenticated identity that first used it.

AgentRpc's identity is the self-chosen ``client-id`` metadata value. On its own, anyone who
learns another worker's client-id can open ``OpenChannel`` with it: the host then replaces
the victim's stream, and with it takes over the victim's agent types and subscriptions.
``ClientIdGuard`` closes that hole on a host where clients authenticate: the first call
with a client-id binds it to the caller's *principal* (the verified client-certificate
common name under mutual TLS, and/or a digest of the bearer token), and a later call with
the same client-id from another principal ends with ``PERMISSION_DENIED``::

    HostOptions(tls_cert=..., tls_key=..., tls_client_ca=...,
                interceptors=[BearerTokenInterceptor(tokens), ClientIdGuard()])

Limits: clients that share a certificate (or a token) are one principal to the guard, so
give each worker (or each tenant) its own. Bindings live as long as the host process, up
to ``max_bindings`` (oldest forgotten first).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Awaitable, Callable

import grpc

from pyruntime.security.stream_guard import guard_method_handler, guard_stream_handler
from pyruntime.security.tls import peer_common_names
from pyruntime.security.tokens import AUTHORIZATION_KEY

CLIENT_ID_KEY = "client-id"


def principal_of(context: grpc.aio.ServicerContext) -> str:
    """Who the caller proved to be: certificate CN(s) and a token digest; ``""`` when anonymous."""
    parts = ["cn:" + name for name in peer_common_names(context)]
    for key, value in context.invocation_metadata() or ():
        if key == AUTHORIZATION_KEY:
            raw = value.encode() if isinstance(value, str) else value
            # A digest, not the token: bindings may be logged or inspected.
            parts.append("token:" + hashlib.sha256(raw).hexdigest()[:16])
            break
    return "|".join(parts)


def client_id_of(context: grpc.aio.ServicerContext) -> str | None:
    """The call's ``client-id`` metadata value, if any."""
    for key, value in context.invocation_metadata() or ():
        if key == CLIENT_ID_KEY and value:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


class ClientIdGuard(grpc.aio.ServerInterceptor):
    """``PERMISSION_DENIED`` for a call whose client-id is bound to another principal.

    Anonymous callers (no client certificate, no token) are not bound and pass through:
    install the guard together with mutual TLS or a bearer token, never alone.
    """

    def __init__(self, max_bindings: int = 100_000) -> None:
        if max_bindings < 1:
            raise ValueError("max_bindings must be at least 1")
        self._bindings: OrderedDict[str, str] = OrderedDict()
        self._max = max_bindings

    def bound_principal(self, client_id: str) -> str | None:
        return self._bindings.get(client_id)

    def _admit(self, context: grpc.aio.ServicerContext) -> str | None:
        """None when the call may go on, else the refusal message."""
        client_id = client_id_of(context)
        if client_id is None:
            return None  # the host itself answers INVALID_ARGUMENT
        principal = principal_of(context)
        if not principal:
            return None
        bound = self._bindings.get(client_id)
        if bound is None:
            self._bindings[client_id] = principal
            if len(self._bindings) > self._max:
                self._bindings.popitem(last=False)
            return None
        if bound != principal:
            return (
                f"client-id {client_id!r} belongs to another authenticated identity; "
                "each worker must use its own client-id"
            )
        return None

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return self._guarded(handler)

    def _guarded(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        admit = self._admit

        async def admit_stream(requests: Any, context: grpc.aio.ServicerContext) -> tuple[Any, Any]:
            refusal = admit(context)
            if refusal is not None:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, refusal)
            return requests, context

        def guard_unary(unary: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def guarded_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                refusal = admit(context)
                if refusal is not None:
                    await context.abort(grpc.StatusCode.PERMISSION_DENIED, refusal)
                return await unary(request, context)

            return guarded_unary

        return guard_method_handler(
            handler, stream=lambda behavior: guard_stream_handler(behavior, admit_stream), unary=guard_unary
        )
