"""RecordingProxy: a transparent grpc.aio proxy for the AgentRpc service that records every exchange.

Messages are relayed as raw bytes (never re-encoded), so unknown fields, field order and
payload bytes reach the other side exactly as sent. Each stream has one relay task per
direction, which keeps per-stream order; request metadata (client-id, authorization, ...) and
deadlines go upstream; the upstream's response metadata, status code and details come back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import grpc

from conformance.recorder.forwarding import client_id_of, forwardable, remaining_deadline
from conformance.recorder.recording import STREAM_KINDS, UNARY_METHODS, Recording
from pyruntime.security.tls import TlsSettings

log = logging.getLogger(__name__)

SERVICE: Final = "agents.AgentRpc"
HALF_CLOSE_GRACE: Final = 0.25  # seconds; see _pump_up
# The proxy must never be the component that refuses a message: the host decides the limits.
MESSAGE_LIMIT_OPTIONS: Final = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]


@dataclass(frozen=True)
class ServerTls:
    """PEM material for serving TLS on the listening side."""

    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None  # set = require client certificates (mutual TLS)


UpstreamTls = TlsSettings
"""PEM material to reach a TLS upstream (root_certificates, certificate_chain, private_key, server_name_override)."""


class RecordingProxy:
    """Listen on ``listen``, relay to ``upstream``, record into :attr:`recording`.

    Use ``await start()`` (returns the bound address; port 0 picks a free port) and ``await stop()``.
    """

    def __init__(
        self,
        listen: str,
        upstream: str,
        *,
        server_tls: ServerTls | None = None,
        upstream_tls: UpstreamTls | None = None,
    ) -> None:
        self._listen = listen
        self._upstream_address = upstream
        self._server_tls = server_tls
        self._upstream_tls = upstream_tls
        self.recording = Recording(upstream=upstream)
        self._server: grpc.aio.Server | None = None
        self._upstream: grpc.aio.Channel | None = None
        self._stopping = False
        self.address: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> str:
        self._upstream = self._open_upstream()
        server = grpc.aio.server(options=MESSAGE_LIMIT_OPTIONS)
        server.add_generic_rpc_handlers((self._handlers(),))
        try:
            if self._server_tls is None:
                port = server.add_insecure_port(self._listen)
            else:
                tls = self._server_tls
                credentials = grpc.ssl_server_credentials(
                    [(tls.private_key, tls.certificate_chain)],
                    root_certificates=tls.client_ca,
                    require_client_auth=tls.client_ca is not None,
                )
                port = server.add_secure_port(self._listen, credentials)
        except RuntimeError:  # newer grpcio raises instead of returning port 0
            port = 0
        if port == 0:
            await self._upstream.close(grace=None)
            raise OSError(f"cannot listen on {self._listen}: the address is in use or not valid")
        await server.start()
        self._server = server
        host = self._listen.rpartition(":")[0] or "127.0.0.1"
        self.address = f"{host}:{port}"
        return self.address

    async def stop(self, grace: float = 0.5) -> Recording:
        """Stop serving (open streams are cancelled after ``grace``) and return what was recorded."""
        self._stopping = True  # cancellations from here on are ours, not the clients'
        snapshot = self.recording.snapshot()
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        if self._upstream is not None:
            await self._upstream.close(grace=None)
            self._upstream = None
        return snapshot

    def _open_upstream(self) -> grpc.aio.Channel:
        options: list[tuple[str, int | str]] = list(MESSAGE_LIMIT_OPTIONS)
        tls = self._upstream_tls
        if tls is None:
            return grpc.aio.insecure_channel(self._upstream_address, options=options)
        return grpc.aio.secure_channel(self._upstream_address, tls.credentials(), options=[*options, *tls.channel_options()])

    def _handlers(self) -> grpc.GenericRpcHandler:
        # No (de)serializers: requests and responses stay raw bytes end to end.
        handlers: dict[str, grpc.RpcMethodHandler] = {}
        for method in STREAM_KINDS:
            handlers[method] = grpc.stream_stream_rpc_method_handler(self._stream_relay(method))
        for method in UNARY_METHODS:
            handlers[method] = grpc.unary_unary_rpc_method_handler(self._unary_relay(method))
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    # -- streams --------------------------------------------------------------------------------

    def _stream_relay(self, method: str):  # type: ignore[no-untyped-def]
        async def relay(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
            await self._relay_stream(method, requests, context)

        return relay

    async def _relay_stream(self, method: str, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
        assert self._upstream is not None
        stream = STREAM_KINDS[method]
        invocation = context.invocation_metadata()
        client_id = client_id_of(invocation)
        stream_id = self.recording.open_stream(stream, client_id)
        log.debug("%s stream %d opened by client %s", stream, stream_id, client_id)
        call = self._upstream.stream_stream(f"/{SERVICE}/{method}")(metadata=forwardable(invocation))
        upward = asyncio.create_task(self._pump_up(call, requests, context, stream, stream_id, client_id), name=f"up-{stream_id}")
        downward = asyncio.create_task(self._pump_down(call, context, stream, stream_id, client_id), name=f"down-{stream_id}")
        try:
            # asyncio.wait does not cancel `downward` when this handler is cancelled: the upstream call
            # must be cancelled explicitly first (a cancelled read() ends the call locally without
            # telling the upstream server).
            await asyncio.wait({downward})
            code, details, trailing = downward.result()
        except asyncio.CancelledError:
            if not self._stopping:
                self.recording.closed_by_client(stream, stream_id, client_id)
                log.debug("%s stream %d of client %s closed by the client", stream, stream_id, client_id)
            raise
        finally:
            call.cancel()
            for task in (upward, downward):
                task.cancel()
            await asyncio.wait({upward, downward}, timeout=2.0)
        self.recording.ended(stream, stream_id, client_id, code.name, details)
        log.debug("%s stream %d of client %s ended by the host: %s", stream, stream_id, client_id, code.name)
        context.set_trailing_metadata(forwardable(trailing))
        if code != grpc.StatusCode.OK:
            await context.abort(code, details)

    async def _pump_up(
        self,
        call: grpc.aio.StreamStreamCall,
        requests: AsyncIterator[bytes],
        context: grpc.aio.ServicerContext,
        stream: str,
        stream_id: int,
        client_id: str | None,
    ) -> None:
        """Client -> host, in order; half-close upstream when the client finishes writing."""
        try:
            async for raw in requests:
                self.recording.message("send", stream, stream_id, client_id, raw)
                await call.write(raw)
            # grpc.aio ends the request iterator *before* it cancels this handler when the client
            # cancels. Wait briefly: a cancellation then reaches _relay_stream, which cancels the
            # upstream call, instead of being relayed as a half-close.
            await asyncio.sleep(HALF_CLOSE_GRACE)
            if context.cancelled() or context.done():
                call.cancel()
                return
            await call.done_writing()
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            # The host ended the call: _pump_down sees the status and reports it to the client.
            return

    async def _pump_down(
        self, call: grpc.aio.StreamStreamCall, context: grpc.aio.ServicerContext, stream: str, stream_id: int, client_id: str | None
    ) -> tuple[grpc.StatusCode, str, object]:
        """Host -> client, in order, until the host ends the stream; returns its status and trailing metadata."""
        try:
            forwarded = forwardable(await call.initial_metadata())
            if forwarded:
                await context.send_initial_metadata(forwarded)
            while True:
                raw = await call.read()
                if raw is grpc.aio.EOF:
                    break
                self.recording.message("receive", stream, stream_id, client_id, raw)
                await context.write(raw)
        except grpc.aio.AioRpcError as error:
            return error.code(), error.details() or "", error.trailing_metadata()
        return await call.code(), await call.details() or "", await call.trailing_metadata()

    # -- unary ----------------------------------------------------------------------------------

    def _unary_relay(self, method: str):  # type: ignore[no-untyped-def]
        async def relay(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return await self._relay_unary(method, request, context)

        return relay

    async def _relay_unary(self, method: str, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        assert self._upstream is not None
        invocation = context.invocation_metadata()
        exchange = self.recording.call_started(method, client_id_of(invocation), request)
        call = self._upstream.unary_unary(f"/{SERVICE}/{method}")(
            request, metadata=forwardable(invocation), timeout=remaining_deadline(context)
        )
        pending = asyncio.ensure_future(call)
        try:
            await asyncio.wait({pending})  # not cancelled with this handler: see _relay_stream
            response = pending.result()
        except grpc.aio.AioRpcError as error:
            self.recording.call_finished(exchange, error.code().name, error.details() or "", None)
            context.set_trailing_metadata(forwardable(error.trailing_metadata()))
            await context.abort(error.code(), error.details() or "")
            raise  # unreachable: abort raises
        except asyncio.CancelledError:
            call.cancel()
            await asyncio.wait({pending}, timeout=2.0)
            if not self._stopping:
                self.recording.call_finished(exchange, "CANCELLED", "the caller cancelled the call", None)
            raise
        self.recording.call_finished(exchange, "OK", "", response)
        headers = forwardable(await call.initial_metadata())
        if headers:
            await context.send_initial_metadata(headers)
        context.set_trailing_metadata(forwardable(await call.trailing_metadata()))
        return response
