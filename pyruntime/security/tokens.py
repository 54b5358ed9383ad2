"""Optional bearer-token authentication for the AgentRpc host, and the client side of it.

Server side::

    check = BearerTokenInterceptor(load_token_file("token.txt"))
    AgentRpcHost(address, HostOptions(interceptors=[check]))

Every call (the four unary calls and both streams) must then carry gRPC metadata
``authorization: Bearer <token>``; otherwise it ends with ``UNAUTHENTICATED`` before the
host sees it. Several tokens may be accepted at once (to rotate them without downtime).

Client side::

    metadata = (("client-id", cid), *bearer_metadata(token))     # any channel, per call
    grpc.aio.insecure_channel(addr, interceptors=bearer_client_interceptors(token))  # whole channel
    credentials = bearer_call_credentials(token)                   # TLS channels only

A token is a shared secret: send it over TLS, or anyone on the path can read and replay it.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable

import grpc

AUTHORIZATION_KEY = "authorization"
BEARER_PREFIX = "Bearer "


class TokenFileError(ValueError):
    """The token file is missing, unreadable or holds no token."""


def load_token_file(path: Path | str) -> tuple[str, ...]:
    """Tokens from ``path``: one per line; blank lines and ``#`` comments are ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TokenFileError(f"cannot read bearer token file {str(path)!r}: {error.strerror}") from error
    tokens = tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )
    if not tokens:
        raise TokenFileError(f"bearer token file {str(path)!r} holds no token (one token per line)")
    return tokens


def _bearer_value(token: str) -> str:
    if not token or token != token.strip() or any(ch in token for ch in "\r\n"):
        raise ValueError("a bearer token must be non-empty, without surrounding whitespace or line breaks")
    return BEARER_PREFIX + token


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The call metadata that authenticates with ``token`` (add it to every call's metadata)."""
    return ((AUTHORIZATION_KEY, _bearer_value(token)),)


class _BearerPlugin(grpc.AuthMetadataPlugin):
    def __init__(self, token: str) -> None:
        self._metadata = bearer_metadata(token)

    def __call__(self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback) -> None:
        callback(self._metadata, None)


def bearer_call_credentials(token: str) -> grpc.CallCredentials:
    """Call credentials that add the token to every call; combine them with TLS channel credentials
    (``grpc.composite_channel_credentials``). gRPC refuses call credentials on plaintext channels:
    there, pass :func:`bearer_metadata` as metadata instead."""
    return grpc.metadata_call_credentials(_BearerPlugin(token), name="agentrpc-bearer")


class _BearerDetails:
    """Call details plus the ``authorization`` pair (shared by the four client interceptors)."""

    def __init__(self, token: str) -> None:
        self._pair = bearer_metadata(token)[0]

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add(*self._pair)
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


class _BearerUnaryUnary(_BearerDetails, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class _BearerUnaryStream(_BearerDetails, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class _BearerStreamUnary(_BearerDetails, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)


class _BearerStreamStream(_BearerDetails, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)


def bearer_client_interceptors(token: str) -> list[grpc.aio.ClientInterceptor]:
    """Client interceptors that add ``authorization: Bearer <token>`` to every call, TLS or not::

        grpc.aio.insecure_channel(address, interceptors=bearer_client_interceptors(token))

    One per call shape: grpc.aio files each interceptor under the first shape it implements.
    For long-lived streams driven with ``write()``/``read()`` prefer :func:`bearer_metadata`:
    it is cheaper, and grpc.aio's intercepted stream calls can leave internal tasks pending
    (logged at exit) when the server ends such a call early.
    """
    return [cls(token) for cls in (_BearerUnaryUnary, _BearerUnaryStream, _BearerStreamUnary, _BearerStreamStream)]


Behavior = Callable[..., Any]


def _refusing_handler(handler: grpc.RpcMethodHandler, details: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that ends the call with UNAUTHENTICATED.

    The shape matters: the server reads (or not) a request stream according to it.
    """

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, details)

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse, **kwargs)
    return grpc.unary_unary_rpc_method_handler(refuse, **kwargs)


MISSING_TOKEN = (
    "missing bearer token: this host requires gRPC metadata 'authorization: Bearer <token>' on every call"
)
WRONG_TOKEN = "invalid bearer token: the token sent is not one this host accepts"


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuses, with ``UNAUTHENTICATED``, every call without an accepted ``authorization: Bearer`` token.

    The comparison is constant-time per token and every accepted token is compared, so
    timing reveals neither the tokens nor which one matched.
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        accepted = tuple(_bearer_value(token).encode("utf-8") for token in tokens)
        if not accepted:
            raise ValueError("BearerTokenInterceptor needs at least one token")
        self._accepted = accepted

    def accepts(self, authorization: str | bytes | None) -> bool:
        """True when ``authorization`` (the metadata value) carries an accepted token."""
        if authorization is None:
            return False
        presented = authorization.encode("utf-8") if isinstance(authorization, str) else authorization
        matched = False
        for expected in self._accepted:
            matched |= hmac.compare_digest(presented, expected)
        return matched

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        authorization: str | bytes | None = None
        for key, value in handler_call_details.invocation_metadata or ():
            if key == AUTHORIZATION_KEY:
                authorization = value
                break
        handler = await continuation(handler_call_details)
        if handler is None or self.accepts(authorization):
            return handler
        return _refusing_handler(handler, MISSING_TOKEN if authorization is None else WRONG_TOKEN)
