"""The worker's connection to a host: one OpenChannel stream (plus the control stream),
re-opened with exponential backoff and jitter whenever the host goes away.

One reader loop reads the stream and hands each frame to the runtime (which starts handler
tasks itself; the reader never blocks on a handler). One writer task drains one bounded
outbound queue, so senders feel backpressure when the host reads slowly. The ``client-id``
metadata is a uuid4 chosen once and kept across reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Optional, Protocol, Sequence

import grpc

from pyruntime._proto import agent_worker_pb2, agent_worker_pb2_grpc
from pyruntime.security.tls import TlsSettings

from .errors import HostConnectionLost

log = logging.getLogger("pyruntime.worker")

CLIENT_ID_KEY = "client-id"


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``initial * multiplier**attempt`` capped at ``maximum``, with jitter.

    The jitter keeps the upper half of each delay random ("equal jitter"), so a fleet of
    workers does not reconnect in lockstep after a host restart, and no delay is zero.
    """

    initial: float = 0.1
    maximum: float = 2.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * (self.multiplier ** min(attempt, 32)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def split_host_address(address: str) -> tuple[str, bool]:
    """``host:port`` with an optional ``http://`` / ``https://`` scheme → (target, scheme says TLS)."""
    if address.startswith("https://"):
        return address[len("https://"):].rstrip("/"), True
    if address.startswith("http://"):
        return address[len("http://"):].rstrip("/"), False
    return address, False


class ConnectionListener(Protocol):
    """What the connection tells the runtime."""

    def on_message(self, message: agent_worker_pb2.Message) -> Optional[Awaitable[None]]:
        """Handle one inbound frame; return an awaitable to pause reading (backpressure)."""

    async def on_connected(self) -> None:
        """The stream is open: re-register everything. Raise to drop the stream and retry."""

    def on_disconnected(self, error: BaseException) -> None:
        """The stream broke: fail whatever waits on it."""

    def on_control_message(self, message: agent_worker_pb2.ControlMessage) -> None:
        """Handle one inbound control frame."""


class HostConnection:
    """Keeps one data stream (and one control stream) open to the host until ``close``."""

    def __init__(
        self,
        address: str,
        listener: ConnectionListener,
        *,
        client_id: Optional[str] = None,
        tls: Optional[TlsSettings] = None,
        queue_size: int = 4096,
        backoff: Backoff = Backoff(),
        control_channel: bool = True,
        channel_options: Sequence[tuple[str, Any]] = (),
        extra_metadata: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.address = address
        self.client_id = client_id or str(uuid.uuid4())
        # Sent on every call: the identity, plus e.g. ``authorization: Bearer <token>``.
        self.metadata: tuple[tuple[str, str], ...] = ((CLIENT_ID_KEY, self.client_id), *extra_metadata)
        self.last_error: Optional[str] = None
        self._target, scheme_tls = split_host_address(address)
        self._tls = tls if tls is not None else (TlsSettings() if scheme_tls else None)
        self._listener = listener
        self._backoff = backoff
        self._control_enabled = control_channel
        self._channel_options = [
            # Reconnect fast: the default gRPC backoff can wait up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", int(backoff.maximum * 1000)),
            *channel_options,
        ]
        self._outbound: asyncio.Queue[agent_worker_pb2.Message] = asyncio.Queue(queue_size)
        self._channel: Optional[grpc.aio.Channel] = None
        self.stub: Optional[agent_worker_pb2_grpc.AgentRpcStub] = None
        self._supervisor: Optional[asyncio.Task[None]] = None
        self._control_call: Optional[Any] = None
        self._data_call: Optional[Any] = None
        self._control_lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._closing = False
        self.connects = 0  # how many times a session was established (1 + reconnects)

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: Optional[float] = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, connect_timeout: float) -> None:
        """Open the channel and wait for the first session; ``HostConnectionLost`` if none in time."""
        self._closing = False
        options = list(self._channel_options)
        if self._tls is not None:
            options.extend(self._tls.channel_options())
            self._channel = grpc.aio.secure_channel(self._target, self._tls.credentials(), options=options)
        else:
            self._channel = grpc.aio.insecure_channel(self._target, options=options)
        self.stub = agent_worker_pb2_grpc.AgentRpcStub(self._channel)
        self._supervisor = asyncio.create_task(self._run(), name="pyruntime-host-connection")
        try:
            await asyncio.wait_for(self._connected.wait(), connect_timeout)
        except asyncio.TimeoutError:
            await self.close()
            hint = (
                f"last error: {self.last_error}" if self.last_error
                else "is 'agentrpc host' (or another AgentRpc host) running there?"
            )
            raise HostConnectionLost(
                f"could not connect to the host at {self.address} within {connect_timeout:g} s; {hint}"
            ) from None

    async def close(self) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    def drop_stream(self) -> None:
        """Cancel the current stream; the connection reconnects as after any other loss."""
        call = self._data_call
        if call is not None:
            call.cancel()

    # -- sending ------------------------------------------------------------------------
    async def send(self, message: agent_worker_pb2.Message) -> None:
        """Queue a frame for the host; waits when the queue is full; fails fast when disconnected."""
        if not self._connected.is_set():
            raise HostConnectionLost(f"not connected to the host at {self.address} (reconnecting)")
        try:
            self._outbound.put_nowait(message)
        except asyncio.QueueFull:
            await self._outbound.put(message)

    async def send_control(self, message: agent_worker_pb2.ControlMessage) -> None:
        call = self._control_call
        if call is None or not self._connected.is_set():
            raise HostConnectionLost(f"no control channel to the host at {self.address}")
        async with self._control_lock:
            await call.write(message)

    # -- the session loop ---------------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            established = False
            try:
                established = await self._session()
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as error:
                self.last_error = f"{error.code().name}: {error.details()}"
                if error.code() == grpc.StatusCode.UNAVAILABLE:
                    log.debug("host connection attempt failed: %s", error.code())
                else:
                    log.warning("host refused the session (%s): %s", error.code(), error.details())
            except Exception:
                log.exception("host connection session failed")
            if self._closing:
                return
            attempt = 0 if established else attempt + 1
            delay = self._backoff.delay(attempt)
            log.info("reconnecting to host %s in %.2fs", self.address, delay)
            await asyncio.sleep(delay)

    async def _session(self) -> bool:
        """One stream's life; True when it was fully established before ending."""
        assert self.stub is not None
        call = self.stub.OpenChannel(metadata=self.metadata)
        self._data_call = call
        control_call = None
        tasks: list[asyncio.Task[Any]] = []
        established = False
        ended: BaseException = HostConnectionLost(f"the stream to the host at {self.address} ended")
        try:
            await call.wait_for_connection()
            await self._listener.on_connected()
            if self._control_enabled:
                control_call = self.stub.OpenControlChannel(metadata=self.metadata)
                self._control_call = control_call
            established = True
            self.connects += 1
            self._connected.set()
            if self.connects > 1:
                log.info("reconnected to host %s", self.address)
            data_tasks = [
                asyncio.create_task(self._read_loop(call)),
                asyncio.create_task(self._write_loop(call)),
            ]
            tasks.extend(data_tasks)
            if control_call is not None:
                # The control stream never ends the session: a host without one still serves data.
                tasks.append(asyncio.create_task(self._control_read_loop(control_call)))
            done, _ = await asyncio.wait(data_tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    ended = task.exception()  # type: ignore[assignment]
            return True
        finally:
            self._connected.clear()
            self._control_call = None
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            call.cancel()
            if control_call is not None:
                control_call.cancel()
            # Frames queued for the dead stream are dropped: their RPCs fail below, and
            # replaying stale publishes on a new stream would reorder them.
            while not self._outbound.empty():
                self._outbound.get_nowait()
            if established:
                if not self._closing:
                    log.warning("lost the host connection to %s: %s (client-id %s)", self.address, type(ended).__name__, self.client_id)
                self._listener.on_disconnected(ended)

    async def _read_loop(self, call: Any) -> None:
        on_message = self._listener.on_message
        while True:
            message = await call.read()
            if message is grpc.aio.EOF:
                raise HostConnectionLost(f"the host at {self.address} closed the stream")
            try:
                pause = on_message(message)
            except Exception:
                log.exception("inbound frame could not be handled; the stream continues")
                continue
            if pause is not None:
                await pause

    async def _write_loop(self, call: Any) -> None:
        queue = self._outbound
        while True:
            message = await queue.get()
            await call.write(message)

    async def _control_read_loop(self, call: Any) -> None:
        on_control = self._listener.on_control_message
        while True:
            try:
                message = await call.read()
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.CANCELLED:
                    log.info("control channel ended (%s); state requests are unavailable", error.code())
                return
            if message is grpc.aio.EOF:
                log.info("the host closed the control channel; state requests are unavailable")
                return
            try:
                on_control(message)
            except Exception:
                log.exception("control frame could not be handled; the control stream continues")
