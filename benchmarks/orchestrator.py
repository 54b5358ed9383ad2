"""Runs cells: spawns one process set (host, worker B, worker A) per stack and repetition, drives the
configurations through it, and turns every timeout, crash or wrong count into a failed cell."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Callable, Optional

from benchmarks.configs import CONCURRENCY, PUBSUB, SEQ, BenchConfig, Counts
from benchmarks.processes import STARTUP_TIMEOUT, host_main, worker_main
from pyruntime.event_loop import resolve
from benchmarks.profiling import Profilers
from benchmarks.recorder import topic_for
from benchmarks.stacks import Stack

log = logging.getLogger("benchmarks")
_TICK = os.sysconf("SC_CLK_TCK")


class CellFailed(RuntimeError):
    """A cell could not produce a measurement (timeout, process died, error reply)."""


class ProcessGone(CellFailed):
    """The process set is unusable; later cells need a fresh one."""


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (10 ms resolution); 0.0 when unavailable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class _Member:
    role: str
    process: BaseProcess
    conn: Connection
    pid: int = 0


class ProcessSet:
    """Host + worker B + worker A of one stack, each its own spawned process."""

    def __init__(self, stack: Stack, context: Any) -> None:
        self.stack = stack
        self._context = context
        self.members: dict[str, _Member] = {}
        self.address = ""

    def _spawn(self, role: str, target: Callable[..., None], *args: Any) -> dict[str, Any]:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=target, args=(*args, child), name=f"bench-{self.stack.name}-{role}",
                                        daemon=True)
        process.start()
        child.close()
        member = _Member(role, process, parent)
        self.members[role] = member
        if not parent.poll(STARTUP_TIMEOUT):
            raise ProcessGone(f"{role} did not start within {STARTUP_TIMEOUT:.0f} s")
        try:
            status, info = parent.recv()
        except EOFError as error:
            raise ProcessGone(f"{role} exited during startup (exit code {process.exitcode})") from error
        if status != "ready":
            raise ProcessGone(f"{role} failed to start: {info}")
        member.pid = int(info.get("pid", process.pid))
        return dict(info)

    def _spawn_on(self, role: str, event_loop: str, target: Callable[..., None], *args: Any) -> dict[str, Any]:
        """Spawn, and make sure the process runs on the loop the report will say it ran on."""
        info = self._spawn(role, target, *args)
        expected = resolve(event_loop)
        if info.get("event_loop") != expected:
            raise ProcessGone(f"{role} runs on {info.get('event_loop')}, expected {expected}")
        return info

    def start(self) -> None:
        stack = self.stack
        info = self._spawn_on("host", stack.host_loop, host_main, stack.host, stack.host_loop)
        self.address = info["address"]
        self._spawn_on("B", stack.worker_loop, worker_main, stack.worker, stack.worker_loop, "B", self.address)
        self._spawn_on("A", stack.worker_loop, worker_main, stack.worker, stack.worker_loop, "A", self.address)

    def send(self, role: str, command: str, **kwargs: Any) -> None:
        try:
            self.members[role].conn.send((command, kwargs))
        except (OSError, ValueError) as error:
            raise ProcessGone(f"{role} is gone: {error}") from error

    def receive(self, role: str, timeout: float) -> Any:
        member = self.members[role]
        if not member.conn.poll(timeout):
            raise ProcessGone(f"{role} gave no answer within {timeout:.0f} s (stuck)")
        try:
            status, value = member.conn.recv()
        except (EOFError, OSError) as error:
            raise ProcessGone(f"{role} died (exit code {member.process.exitcode})") from error
        if status != "ok":
            raise CellFailed(f"{role}: {value}")
        return value

    def request(self, role: str, command: str, timeout: float, **kwargs: Any) -> Any:
        self.send(role, command, **kwargs)
        return self.receive(role, timeout)

    def cpu(self) -> dict[str, float]:
        return {role: cpu_seconds(m.pid) for role, m in self.members.items() if m.pid}

    def close(self) -> None:
        """Stop A, then B, then the host; whatever does not exit in time is terminated, then killed."""
        for role in ("A", "B", "host"):
            member = self.members.get(role)
            if member is None:
                continue
            try:
                member.conn.send(("stop", {}))
            except (OSError, ValueError):
                pass
            member.process.join(8)
            if member.process.is_alive():
                member.process.terminate()
                member.process.join(3)
            if member.process.is_alive():
                member.process.kill()
                member.process.join(3)
            member.conn.close()
        self.members.clear()


@dataclass
class CellResult:
    stack: str
    config: str
    rep: int
    status: str  # "ok" | "failed" | "incorrect"
    value: Optional[float] = None  # deliveries/s or calls/s
    p50_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    host_cpu_us: Optional[float] = None  # host/router CPU per publish or per call
    cpu_us: dict[str, float] = field(default_factory=dict)  # CPU µs per publish/call of host, A, B and total
    util: Optional[float] = None  # summed CPU of the three processes / wall time
    counts: dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    note: Optional[str] = None


class CellRunner:
    """Runs configurations on one stack's process set, restarting the set after a failure."""

    def __init__(self, stack: Stack, counts: dict[str, Counts], timeout: float, context: Any,
                 profile: Optional[Profilers] = None, label: str = "") -> None:
        self.stack = stack
        self.counts = counts
        self.timeout = timeout
        self._context = context
        self._set: Optional[ProcessSet] = None
        self._run = 0
        self._profile = profile
        self._label = label or stack.name
        self._sets_started = 0

    def _next_run(self) -> int:
        self._run = (self._run + 1) % 10000
        return self._run

    def _processes(self) -> ProcessSet:
        if self._set is None:
            fresh = ProcessSet(self.stack, self._context)
            try:
                fresh.start()
            except Exception:
                fresh.close()
                raise
            self._set = fresh
            self._sets_started += 1
            if self._profile is not None:
                for role, member in fresh.members.items():
                    self._profile.attach(member.pid, f"{self._label}-{role}-{self._sets_started}")
        return self._set

    def _discard(self) -> None:
        if self._profile is not None:
            self._profile.stop()
        if self._set is not None:
            self._set.close()
            self._set = None

    def close(self) -> dict[str, int]:
        """Stop the processes; returns worker B's session audit (stale/foreign deliveries) when available."""
        audit: dict[str, int] = {}
        if self._set is not None:
            try:
                audit = self._set.request("B", "audit", 10)
            except CellFailed:
                pass
        self._discard()
        return audit

    def run(self, config: BenchConfig, rep: int) -> CellResult:
        result = CellResult(self.stack.name, config.name, rep, "failed")
        if self.stack.worker == "autogen" and config.fmt == "proto" and config.kind != PUBSUB:
            result.note = "autogen 0.7.5 has no protobuf RPC: workaround serializer (proto bytes labelled JSON)"
        try:
            processes = self._processes()
            self._measure(processes, config, result)
        except ProcessGone as error:
            result.error = str(error)
            log.warning("%s / %s: %s; restarting its processes", self.stack.name, config.name, error)
            self._discard()
        except CellFailed as error:
            result.error = str(error)
        return result

    def _measure(self, ps: ProcessSet, config: BenchConfig, result: CellResult) -> None:
        counts = self.counts[config.size_label]
        if config.kind == PUBSUB:
            if counts.pubsub_warmup:
                self._pubsub_once(ps, config, counts.pubsub_warmup)
            cpu0, wall0 = ps.cpu(), time.monotonic()
            collected, published = self._pubsub_once(ps, config, counts.pubsub)
            wall = time.monotonic() - wall0
            cpu1 = ps.cpu()
            n = counts.pubsub
            span = collected["t_last_delivery"] - published["t_first_publish"]
            result.counts = {k: collected[k] for k in ("expected", "delivered", "duplicates", "corrupt")}
            ok = collected["complete"] and not collected["duplicates"] and not collected["corrupt"]
            if ok and span > 0:
                result.value = n * config.k / span
            result.status = "ok" if ok else "incorrect"
            if not collected["complete"]:
                result.error = f"only {collected['delivered']} of {collected['expected']} deliveries in {self.timeout:.0f} s"
        else:
            run = self._next_run()
            common = dict(run=run, size=config.size, fmt=config.fmt)
            cpu0, wall0 = ps.cpu(), time.monotonic()
            if config.kind == SEQ:
                n = counts.seq
                summary = ps.request("A", "seq", self.timeout, n=n, warmup=counts.seq_warmup, **common)
            else:
                n = counts.conc
                summary = ps.request("A", "conc", self.timeout, n=n, inflight=CONCURRENCY, **common)
            wall = time.monotonic() - wall0
            cpu1 = ps.cpu()
            result.counts = {"expected": n, **{k: summary[k] for k in ("answered", "wrong", "errors")}}
            ok = summary["answered"] == n and not summary["wrong"] and not summary["errors"]
            result.status = "ok" if ok else "incorrect"
            result.error = summary.get("first_error")
            if ok:
                result.value = n / summary["elapsed"]
                result.p50_ms = summary["p50"] * 1e3
                result.p99_ms = summary["p99"] * 1e3
        used = {role: cpu1.get(role, 0.0) - cpu0.get(role, 0.0) for role in cpu1}
        result.host_cpu_us = used.get("host", 0.0) / n * 1e6
        result.cpu_us = {role: round(used.get(role, 0.0) / n * 1e6, 1) for role in ("host", "A", "B")}
        result.cpu_us["total"] = round(sum(used.values()) / n * 1e6, 1)
        result.util = sum(used.values()) / wall if wall > 0 else None

    def _pubsub_once(self, ps: ProcessSet, config: BenchConfig, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
        run = self._next_run()
        ps.request("B", "expect", 10, run=run, n=n, k=config.k, size=config.size)
        # Collect is sent before the publish finishes so B starts its bounded wait immediately.
        ps.send("A", "pubsub", run=run, n=n, size=config.size, fmt=config.fmt, topic=topic_for(config.k))
        ps.send("B", "collect", timeout=self.timeout)
        published = ps.receive("A", self.timeout + 5)
        collected = ps.receive("B", self.timeout + 10)
        return collected, published


def spawn_context() -> Any:
    return mp.get_context("spawn")
