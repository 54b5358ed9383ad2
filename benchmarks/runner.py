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


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
