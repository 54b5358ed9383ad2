"""A loopback TCP proxy that can cut its connections in the middle of a message.

``arm_cut(direction, after_bytes)`` aborts every proxied connection (both sockets, no
flush) once that many more bytes went through in ``direction`` ("up": client→host,
"down": host→client). Only the first chunk that crosses the threshold is forwarded
partially, so the peer sees a frame that starts and never ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class CuttingProxy:
    """``async with CuttingProxy("127.0.0.1:PORT") as proxy: connect to proxy.address``."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._armed: dict[str, int] = {}
        self.cut_done = asyncio.Event()
        self.address = ""

    async def __aenter__(self) -> "CuttingProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        tasks = [task for link in self._links for task in link.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def arm_cut(self, direction: str, after_bytes: int) -> None:
        if direction not in ("up", "down"):
            raise ValueError("direction is 'up' (client to host) or 'down' (host to client)")
        self.cut_done.clear()
        self._armed[direction] = after_bytes

    def cut(self) -> None:
        """Abort every proxied connection now (RST-like: nothing buffered is flushed)."""
        for link in self._links:
            link.client.transport.abort()
            link.upstream.transport.abort()
        self._armed.clear()
        self.cut_done.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        link = _Link(writer, up_writer)
        self._links.append(link)
        link.tasks = [
            asyncio.create_task(self._pipe(reader, up_writer, "up")),
            asyncio.create_task(self._pipe(up_reader, writer, "down")),
        ]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        try:
            while chunk := await reader.read(16 * 1024):
                budget = self._armed.get(direction)
                if budget is not None and len(chunk) >= budget:
                    writer.write(chunk[:budget])
                    await writer.drain()
                    self.cut()
                    return
                if budget is not None:
                    self._armed[direction] = budget - len(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
