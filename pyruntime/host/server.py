"""AgentRpcHost: the grpc.aio server around the servicer, with TLS and graceful stop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import TracebackType

import grpc

from pyruntime.host.options import HostConfigError, HostOptions
from pyruntime.host.routing import RoutingTable
from pyruntime.host.servicer import AgentRpcServicer
from pyruntime.host.stats import HostStats

logger = logging.getLogger("pyruntime.host")


class HostStartError(RuntimeError):
    """The host could not start (address in use, unreadable certificate, ...)."""


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise HostConfigError(f"address {address!r} is not HOST:PORT (use port 0 for a free port)")
    return host, int(port)


def _read_pem(path: Path | str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise HostStartError(f"cannot read {what} {str(path)!r}: {error.strerror}") from error


def server_credentials(options: HostOptions) -> grpc.ServerCredentials:
    """TLS credentials from the PEM paths in ``options`` (mutual TLS when a client CA is set)."""
    assert options.tls_cert is not None and options.tls_key is not None
    cert = _read_pem(options.tls_cert, "TLS certificate")
    key = _read_pem(options.tls_key, "TLS key")
    client_ca = _read_pem(options.tls_client_ca, "client CA") if options.tls_client_ca is not None else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


class AgentRpcHost:
    """An AgentRpc host: ``async with AgentRpcHost("127.0.0.1:0") as host: ... host.port``.

    ``start``/``stop`` are there for code that cannot use ``async with``. ``stop`` drains:
    new calls are refused, pending RPCs get up to ``options.shutdown_grace`` seconds to be
    answered (then an error reply), queued frames are flushed, and the server closes.
    """

    def __init__(self, address: str = "127.0.0.1:0", options: HostOptions | None = None) -> None:
        self.options = options or HostOptions()
        self._bind_host, self._bind_port = _split_address(address)
        self._server: grpc.aio.Server | None = None
        self._servicer: AgentRpcServicer | None = None
        self._port: int | None = None
        self._stopped = asyncio.Event()
        self._stopping: asyncio.Future[None] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the host is not started: use 'async with AgentRpcHost(...)' or await start()")
        return self._port

    @property
    def address(self) -> str:
        """``HOST:PORT`` actually bound (the real port when 0 was asked for)."""
        return f"{self._bind_host}:{self.port}"

    @property
    def stats(self) -> HostStats:
        return self._require_servicer().stats

    @property
    def routing(self) -> RoutingTable:
        return self._require_servicer().routing

    def _require_servicer(self) -> AgentRpcServicer:
        if self._servicer is None:
            raise RuntimeError("the host is not started")
        return self._servicer

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the host is already started")
        options = self.options
        limit = options.effective_transport_max_bytes
        grpc_options = [
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", 0),
            *options.grpc_options,
        ]
        # Read certificates first: a bad path must fail before any gRPC server exists.
        credentials = server_credentials(options) if options.uses_tls else None
        servicer = AgentRpcServicer(options)
        server = grpc.aio.server(options=grpc_options, interceptors=list(options.interceptors) or None)
        server.add_generic_rpc_handlers((servicer.generic_handler(),))
        bind = f"{self._bind_host}:{self._bind_port}"
        try:
            try:
                if credentials is not None:
                    port = server.add_secure_port(bind, credentials)
                else:
                    port = server.add_insecure_port(bind)
            except RuntimeError as error:
                raise HostStartError(f"cannot listen on {bind}: {error}") from error
            if not port:
                raise HostStartError(f"cannot listen on {bind} (address in use or not local?)")
            await server.start()
        except BaseException:
            await server.stop(None)  # release gRPC's resources for the half-made server
            raise
        self._server, self._servicer, self._port = server, servicer, port
        logger.info(
            "host listening address=%s tls=%s policy=%s event_loop=%s", self.address, options.uses_tls,
            options.type_policy, type(asyncio.get_running_loop()).__module__.split(".")[0],
        )

    async def stop(self, grace: float | None = None) -> None:
        """Drain and close. Safe to call more than once, also concurrently."""
        if self._server is None or self._servicer is None:
            return
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(grace))
        await asyncio.shield(self._stopping)

    async def _stop(self, grace: float | None) -> None:
        server, servicer = self._server, self._servicer
        assert server is not None and servicer is not None
        grace = self.options.shutdown_grace if grace is None else grace
        try:
            await servicer.drain(grace)
        finally:
            # Whatever is still open after the drain is cancelled here.
            await server.stop(0.5)
            self._stopped.set()
            logger.info("host stopped address=%s", self.address)

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    async def __aenter__(self) -> "AgentRpcHost":
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
