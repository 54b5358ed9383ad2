"""A host run as a local subprocess that prints ``listening on HOST:PORT`` once it is bound."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import threading

from conformance.targets.base import Endpoint, Target, TargetUnavailable
from conformance.targets.readiness import wait_until_serving

_LISTENING = re.compile(r"listening on (\S+:\d+)")


class ProcessTarget(Target):
    """Starts ``command``, reads the bound address from its output, and stops it with SIGTERM.

    A separate process means a crashing host cannot take pytest down with it.
    """

    def __init__(self, name: str, command: list[str], startup_timeout: float = 20.0) -> None:
        self.name = name
        self._command = command
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._lines: collections.deque[str] = collections.deque(maxlen=400)
        self._address: str | None = None
        self._bound = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self) -> Endpoint:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            self._process = subprocess.Popen(
                self._command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                env=env,
            )
        except OSError as error:
            raise TargetUnavailable(f"cannot start {self.name} host ({' '.join(self._command)}): {error}") from error
        self._reader = threading.Thread(target=self._pump, name=f"{self.name}-log", daemon=True)
        self._reader.start()
        if not self._bound.wait(self._startup_timeout) or self._address is None:
            tail = " | ".join(list(self._lines)[-3:])
            self.stop()
            raise TargetUnavailable(f"{self.name} host printed no 'listening on HOST:PORT' line: {tail}")
        endpoint = Endpoint(address=self._address)
        wait_until_serving(endpoint, timeout=self._startup_timeout)
        return endpoint

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.append(line.rstrip("\n"))
            if self._address is None:
                match = _LISTENING.search(line)
                if match:
                    self._address = match.group(1)
                    self._bound.set()
        self._bound.set()  # process ended: unblock start()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=2)

    def exited(self) -> int | None:
        """The exit code if the process has ended (a crashed host), else None."""
        return None if self._process is None else self._process.poll()

    def logs(self) -> str:
        return "\n".join(self._lines)

