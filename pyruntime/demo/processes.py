"""Child processes for the demo: start, wait for a readiness line, stop them all on exit."""

from __future__ import annotations

import asyncio
import re
import signal
from dataclasses import dataclass, field
from typing import Optional


class ChildProcessError(RuntimeError):
    """A child process exited or stayed silent before printing its readiness line."""


@dataclass
class ChildProcess:
    name: str
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)


class ProcessGroup:
    """Owns the demo's child processes; ``async with`` stops every one of them (SIGTERM, then SIGKILL)."""

    def __init__(self, stop_grace: float = 5.0) -> None:
        self._children: list[ChildProcess] = []
        self._stop_grace = stop_grace
        self._drains: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> "ProcessGroup":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_all()

    async def start(self, name: str, argv: list[str], ready: str, timeout: float = 20.0) -> re.Match[str]:
        """Start ``argv`` and wait until a stdout line matches ``ready``; return the match."""
        process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
        child = ChildProcess(name, process)
        self._children.append(child)
        pattern = re.compile(ready)
        try:
            match = await asyncio.wait_for(self._read_until(child, pattern), timeout)
        except asyncio.TimeoutError:
            raise ChildProcessError(f"{name} did not become ready within {timeout:g} s") from None
        # Keep draining stdout so the child never blocks on a full pipe.
        self._drains.append(asyncio.create_task(self._drain(child)))
        return match

    @staticmethod
    async def _read_until(child: ChildProcess, pattern: re.Pattern[str]) -> re.Match[str]:
        assert child.process.stdout is not None
        while True:
            line = await child.process.stdout.readline()
            if not line:
                code = await child.process.wait()
                raise ChildProcessError(f"{child.name} exited with code {code} before it was ready")
            text = line.decode(errors="replace").rstrip()
            child.output.append(text)
            match = pattern.search(text)
            if match:
                return match

    @staticmethod
    async def _drain(child: ChildProcess) -> None:
        assert child.process.stdout is not None
        while line := await child.process.stdout.readline():
            child.output.append(line.decode(errors="replace").rstrip())

    def returncodes(self) -> dict[str, Optional[int]]:
        return {child.name: child.process.returncode for child in self._children}

    async def stop_all(self) -> None:
        """Stop the workers together, then the host (the first child) last."""
        if self._children:
            first, rest = self._children[0], self._children[1:]
            await asyncio.gather(*(self._stop(child) for child in rest))
            await self._stop(first)
        for task in self._drains:
            task.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)

    async def _stop(self, child: ChildProcess) -> None:
        if child.process.returncode is not None:
            return
        try:
            child.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(child.process.wait(), self._stop_grace)
        except asyncio.TimeoutError:
            child.process.kill()
            await child.process.wait()
