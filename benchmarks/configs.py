"""The benchmark configurations (perf-baseline.md) and the message counts for each run size."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.payloads import FORMATS

PUBSUB, SEQ, CONC = "pubsub", "seq", "conc64"
KINDS = (PUBSUB, SEQ, CONC)
SIZES = {"100B": 100, "64KiB": 65536}
CONCURRENCY = 64


@dataclass(frozen=True)
class Counts:
    """How many messages/calls each kind of cell uses for one payload size."""

    pubsub: int
    pubsub_warmup: int
    seq: int
    seq_warmup: int
    conc: int


RUN_SIZES: dict[str, dict[str, Counts]] = {
    # perf-baseline used 8000/2000 one-way, 2000 seq, 12800/3840 conc64; these fit 4 stacks × 3 reps
    # into ~10-15 minutes on 2 cores while keeping every cell above ~1 s of measured time.
    "full": {
        "100B": Counts(pubsub=5000, pubsub_warmup=300, seq=1000, seq_warmup=100, conc=6400),
        "64KiB": Counts(pubsub=1500, pubsub_warmup=100, seq=600, seq_warmup=50, conc=1920),
    },
    "tiny": {
        "100B": Counts(pubsub=20, pubsub_warmup=0, seq=20, seq_warmup=2, conc=128),
        "64KiB": Counts(pubsub=20, pubsub_warmup=0, seq=20, seq_warmup=2, conc=128),
    },
}


@dataclass(frozen=True)
class BenchConfig:
    """One cell row: kind × payload format × size (× K subscribers for pub/sub)."""

    kind: str
    fmt: str
    size_label: str
    k: int = 1

    @property
    def name(self) -> str:
        base = f"{self.kind} {self.fmt} {self.size_label}"
        return f"{base} K={self.k}" if self.kind == PUBSUB else base

    @property
    def size(self) -> int:
        return SIZES[self.size_label]

    @property
    def unit(self) -> str:
        return "deliv/s" if self.kind == PUBSUB else "calls/s"


def all_configs() -> list[BenchConfig]:
    configs: list[BenchConfig] = []
    for kind in KINDS:
        for size_label in SIZES:
            for fmt in FORMATS:
                if kind == PUBSUB:
                    configs.extend(BenchConfig(kind, fmt, size_label, k) for k in (1, 4))
                else:
                    configs.append(BenchConfig(kind, fmt, size_label))
    return configs


def select_configs(patterns: list[str] | None) -> list[BenchConfig]:
    """Configs whose name contains every word of any pattern (``"pubsub json"``, ``"seq 64KiB"``)."""
    configs = all_configs()
    if not patterns:
        return configs
    chosen = [c for c in configs if any(all(w.lower() in c.name.lower() for w in p.split()) for p in patterns)]
    if not chosen:
        raise ValueError(f"no configuration matches {patterns!r}; names look like {configs[0].name!r}")
    return chosen
