"""py-spy attached to every process of a stack while cells run, and a hotspot summary of the samples.

``python -m benchmarks run --profile DIR ...`` records ``DIR/<stack>-<role>-<n>.txt`` (py-spy "raw"
collapsed stacks, GIL-holding samples only, so percentages are shares of the process's Python CPU
time) and writes ``DIR/hotspots.md``: per process the functions with most self time and most
inclusive time.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

SAMPLE_RATE = 200


def py_spy_binary() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("py-spy is not installed: pip install py-spy (into the venv that runs the benchmark)")
    return found


@dataclass
class Profilers:
    """One ``py-spy record`` per process; ``stop`` makes each write its file."""

    out_dir: Path
    native: bool = False  # also sample C/Cython frames (grpc's cygrpc): slower, blocking sampling
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def attach(self, pid: int, name: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        target = self.out_dir / f"{name}.txt"
        command = [py_spy_binary(), "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--gil",
                   "--rate", str(SAMPLE_RATE), "--output", str(target)]
        command += ["--native"] if self.native else ["--nonblocking"]
        self.running.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.running.clear()


def _split(frame: str) -> tuple[str, str]:
    name, _, where = frame.partition(" (")
    return name, where.rstrip(")")


def _frame_name(frame: str) -> str:
    # "func (path/to/file.py)" → "func (file.py)"; unsymbolised native frames collapse per library.
    name, where = _split(frame)
    short = where.rsplit("/", 1)[-1]
    if name.startswith("0x"):
        return f"[native] ({short.split('.', 1)[0]})"
    return f"{name} ({short})" if where else name


_AREAS = (  # (area, substrings of a frame's file), first match wins; the leaf frame decides
    ("syscalls (sendmsg/write/read/epoll)", ("libc.so",)),
    ("grpc core + Cython (cygrpc)", ("cygrpc",)),
    ("grpc.aio Python layer", ("grpc/aio", "grpc/_")),
    ("protobuf (upb)", ("_message.abi3", "google/protobuf")),
    ("json / dataclasses (stdlib)", ("json/", "_json.c", "dataclasses.py", "<string>")),
    ("pyruntime host", ("pyruntime/host",)),
    ("pyruntime worker", ("pyruntime/worker",)),
    ("pyruntime wire / model", ("pyruntime/wire", "pyruntime/model")),
    ("autogen", ("autogen_",)),
    ("benchmark harness", ("benchmarks/",)),
    ("asyncio event loop", ("asyncio", "_asynciomodule", "selectors.py", "select", "_heapq", "events.py")),
)


def _area(frame: str) -> str:
    where = _split(frame)[1]
    for area, needles in _AREAS:
        if any(n in where for n in needles):
            return area
    return "other (interpreter, uuid, ...)"


@dataclass
class Hotspots:
    samples: int
    self_time: Counter[str]
    inclusive: Counter[str]
    areas: Counter[str]


def read_collapsed(path: Path) -> Hotspots:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        raw = [f for f in stack.split(";") if f]
        if not raw:
            continue
        frames = [_frame_name(f) for f in raw]
        total += count
        self_time[frames[-1]] += count
        areas[_area(raw[-1])] += count
        for name in set(frames):
            inclusive[name] += count
    return Hotspots(total, self_time, inclusive, areas)


_BORING = ("[native] (libc)", "task_step", "<module>", "spawn_main", "_main (spawn.py)", "_bootstrap", "run (process.py)", "BaseProcess", "run (runners.py)",
           "Runner.run", "run_until_complete", "run_forever", "_run_once", "Handle._run", "host_main", "worker_main")


def summary_markdown(out_dir: Path, top: int = 12) -> str:
    lines = ["# py-spy hotspots (GIL-holding samples; % of the process's samples)", ""]
    for path in sorted(out_dir.glob("*.txt")):
        spots = read_collapsed(path)
        if not spots.samples:
            continue
        lines += [f"## {path.stem} — {spots.samples} samples ({spots.samples / SAMPLE_RATE:.1f} s of CPU)", "",
                  "Self time by area: " + ", ".join(f"{a} {100 * c / spots.samples:.0f}%"
                                                    for a, c in spots.areas.most_common()), "",
                  "| self % | function | | inclusive % | function |", "|---|---|---|---|---|"]
        selfs = spots.self_time.most_common(top)
        incl = [(n, c) for n, c in spots.inclusive.most_common(top * 3) if not any(b in n for b in _BORING)][:top]
        for i in range(max(len(selfs), len(incl))):
            s = selfs[i] if i < len(selfs) else ("", 0)
            c = incl[i] if i < len(incl) else ("", 0)
            lines.append(f"| {100 * s[1] / spots.samples:.1f} | `{s[0]}` | | "
                         f"{100 * c[1] / spots.samples:.1f} | `{c[0]}` |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_summary(out_dir: Path) -> Optional[Path]:
    if not any(out_dir.glob("*.txt")):
        return None
    target = out_dir / "hotspots.md"
    target.write_text(summary_markdown(out_dir))
    return target
