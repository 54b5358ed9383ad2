"""Pooling saved runs into one report: repetitions add up, medians come from all of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.configs import select_configs
from benchmarks.report import pool, write_all
from benchmarks.runner import run_benchmark

pytestmark = pytest.mark.timeout(60)

# Reports draw results.png with matplotlib: the "bench" extra, installed in .venv but not in the
# newest-releases environment, where these tests skip with this reason.
pytest.importorskip("matplotlib", reason="matplotlib (the bench extra) is not installed in this environment")


def _cell(stack: str, config: str, rep: int, value: float) -> dict:
    return {"stack": stack, "config": config, "rep": rep, "status": "ok", "value": value, "p50_ms": 1.0,
            "p99_ms": 2.0, "host_cpu_us": 10.0, "cpu_us": {"host": 10.0, "A": 10.0, "B": 10.0, "total": 30.0},
            "util": 1.5, "counts": {}, "error": None, "note": None}


def _run_file(path: Path, started: str, values: dict[str, list[float]], configs: list[str]) -> Path:
    cells = [_cell(stack, config, rep + 1, v) for stack, vs in values.items() for config in configs
             for rep, v in enumerate(vs)]
    document = {
        "meta": {"started": started, "finished": started, "size": "full", "reps": len(next(iter(values.values()))),
                 "machine": "x", "commit": "abc", "loadavg_start": [0.1, 0.1, 0.1], "loadavg_end": [0.2, 0.2, 0.2],
                 "cpu_steal_percent": 1.0},
        "configs": configs, "stacks": {s: s for s in values}, "cells": cells,
    }
    path.mkdir(parents=True)
    (path / "results.json").write_text(json.dumps(document))
    return path / "results.json"


def test_pooled_medians_use_every_repetition_of_every_run(tmp_path: Path) -> None:
    both = ["seq json 100B", "conc64 json 100B"]
    first = _run_file(tmp_path / "a", "2026-01-01 10:00:00", {"ours": [100, 100, 100], "raw": [200, 200, 200]}, both)
    # The second run lacks one configuration: only what every run has is reported.
    second = _run_file(tmp_path / "b", "2026-01-01 11:00:00", {"ours": [400, 400], "raw": [200, 200]}, both[:1])
    pool([first, second], tmp_path / "pooled")
    pooled = json.loads((tmp_path / "pooled" / "results.json").read_text())
    assert pooled["configs"] == ["seq json 100B"]
    assert pooled["meta"]["reps"] == 5
    assert sorted(c["rep"] for c in pooled["cells"] if c["stack"] == "ours") == [1, 2, 3, 4, 5]
    ours = next(a for a in pooled["aggregates"] if a["stack"] == "ours")
    assert (ours["min"], ours["median"], ours["max"]) == (100, 100, 400)  # median of 100,100,100,400,400
    markdown = (tmp_path / "pooled" / "results.md").read_text()
    assert "Pooled over 2 runs" in markdown and "2026-01-01 10:00:00" in markdown and "11:00:00" in markdown
    # The command line refuses to pool into the first run's own directory.
    assert main(["report", str(first), str(second)]) == 2
    assert main(["report", str(first), str(second), "--out", str(tmp_path / "again")]) == 0


def test_a_real_tiny_run_re_renders_unchanged(tmp_path: Path) -> None:
    configs = select_configs(["seq proto 100B"])
    outcome = run_benchmark(stacks=["raw"], configs=configs, reps=1, size="tiny")
    document = write_all(tmp_path / "run", outcome.meta, configs, ["raw"], outcome.cells)
    pool([tmp_path / "run" / "results.json"], tmp_path / "again")
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again["aggregates"] == json.loads(json.dumps(document["aggregates"]))


def test_goal_rows_show_what_the_raw_forwarder_reaches(tmp_path: Path) -> None:
    # ours 1.5x autogen on both cells; raw 1.8x on one (a goal above the limit), 2.5x on the other.
    configs = ["conc64 json 100B", "conc64 proto 100B"]
    path = _run_file(tmp_path / "a", "2026-01-01 10:00:00",
                     {"ours": [150], "autogen": [100], "raw": [180]}, configs[:1])
    other = _run_file(tmp_path / "b", "2026-01-01 10:00:00",
                      {"ours": [150], "autogen": [100], "raw": [250]}, configs[1:])
    pool([path], tmp_path / "one")
    pool([other], tmp_path / "two")
    first = json.loads((tmp_path / "one" / "results.json").read_text())["goals"]
    second = json.loads((tmp_path / "two" / "results.json").read_text())["goals"]
    assert [(g["met"], g["raw_reaches"], g["raw_meets"]) for g in first] == [(False, 1.8, False)]
    assert [(g["met"], g["raw_reaches"], g["raw_meets"]) for g in second] == [(False, 2.5, True)]
    one = (tmp_path / "one" / "results.md").read_text()
    assert "| ours >= 2x autogen | conc64 json 100B | 1.50 | >= 2.0 | **no** (raw too) | 1.80 | 0 of 1 |" in one
    assert "1 (conc64 json 100B) is missed by the raw grpc.aio forwarder too" in one
    two = (tmp_path / "two" / "results.md").read_text()
    assert "**no** | 2.50 |" in two and "missed by the raw" not in two


def test_goal_rows_count_the_repetitions_that_meet_the_target(tmp_path: Path) -> None:
    # Per repetition ours ÷ autogen = 2.5, 1.5, 2.1: the median (2.1) meets 2x, two repetitions of three do.
    path = _run_file(tmp_path / "a", "2026-01-01 10:00:00",
                     {"ours": [250, 150, 210], "autogen": [100, 100, 100], "raw": [300, 300, 300]},
                     ["pubsub json 100B K=1"])
    pool([path], tmp_path / "out")
    [goal] = json.loads((tmp_path / "out" / "results.json").read_text())["goals"]
    assert (goal["met"], goal["reps_met"], goal["reps_paired"]) == (True, 2, 3)
    assert "| yes | 3.00 | 2 of 3 |" in (tmp_path / "out" / "results.md").read_text()
