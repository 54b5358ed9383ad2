"""One benchmark run: repetitions × stacks × configurations, bounded end to end."""

from __future__ import annotations

import logging
import platform
import time
from pathlib import Path
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from benchmarks.configs import RUN_SIZES, BenchConfig
from benchmarks.orchestrator import CellResult, CellRunner, spawn_context
from benchmarks.profiling import Profilers
from benchmarks.stacks import STACKS
from pyruntime.event_loop import resolve

log = logging.getLogger("benchmarks")
CELL_TIMEOUT = {"full": 90.0, "tiny": 20.0}


@dataclass
class RunOutcome:
    meta: dict[str, Any]
    cells: list[CellResult]
    audits: dict[str, list[dict[str, int]]] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def run_benchmark(
    *, stacks: list[str], configs: list[BenchConfig], reps: int, size: str,
    progress: Optional[Callable[[CellResult], None]] = None, profile_dir: Optional[Path] = None,
    profile_native: bool = False,
) -> RunOutcome:
    """Run every configuration on every stack ``reps`` times, interleaving stacks within a repetition
    (so slow drifts of a noisy machine hit every stack alike)."""
    unknown = [s for s in stacks if s not in STACKS]
    if unknown:
        raise ValueError(f"unknown stack(s) {unknown}; choose from {list(STACKS)}")
    meta = {"started": _now(), "size": size, "reps": reps, "machine": f"{platform.machine()} ×{_cpus()} CPU",
            "counts": {label: vars(c) for label, c in RUN_SIZES[size].items()},
            "loadavg_start": _load(), "commit": _commit(),
            "event_loops": {s: {"host": resolve(STACKS[s].host_loop), "workers": resolve(STACKS[s].worker_loop)}
                            for s in stacks}}
    cells: list[CellResult] = []
    audits: dict[str, list[dict[str, int]]] = {}
    context = spawn_context()
    cpu_start = _cpu_times()
    t0 = time.monotonic()
    for rep in range(1, reps + 1):
        for stack in stacks:
            profilers = Profilers(profile_dir, profile_native) if profile_dir is not None else None
            runner = CellRunner(STACKS[stack], RUN_SIZES[size], CELL_TIMEOUT[size], context,
                                profile=profilers, label=f"{stack}-rep{rep}")
            try:
                for config in configs:
                    cell = runner.run(config, rep)
                    cells.append(cell)
                    if progress is not None:
                        progress(cell)
            finally:
                audits.setdefault(stack, []).append(runner.close())
    meta["finished"] = _now()
    meta["loadavg_end"] = _load()
    meta["seconds"] = round(time.monotonic() - t0, 1)
    meta["cpu_steal_percent"] = _steal_percent(cpu_start, _cpu_times())
    meta["audits"] = audits
    return RunOutcome(meta, cells, audits)


def _commit() -> str:
    """The repository commit measured (``+dirty`` when the work tree has changes), or "" outside git."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    if head.returncode != 0:
        return ""
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _load() -> list[float]:
    """1/5/15-minute load averages: other work on the box makes the numbers noisy; the report says so."""
    import os

    return [round(x, 2) for x in os.getloadavg()]


def _cpu_times() -> list[int]:
    """The machine-wide "cpu" line of /proc/stat (jiffies: user nice system idle iowait irq softirq steal ...)."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return []


def _steal_percent(before: list[int], after: list[int]) -> Optional[float]:
    """Share of CPU time the hypervisor gave to other guests during the run (None when unknown).

    On a shared VM a noisy neighbour shows up here, not in the load average.
    """
    if len(before) < 8 or len(after) < 8:
        return None
    deltas = [b - a for a, b in zip(before, after)]
    total = sum(deltas[:8])
    return round(100.0 * deltas[7] / total, 1) if total > 0 else None


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
