"""A broken stack fails its cells with a reason and the run still ends (never hangs)."""

from __future__ import annotations

import time

import pytest

from benchmarks import runner
from benchmarks.configs import select_configs
from benchmarks.stacks import STACKS, Stack

pytestmark = pytest.mark.timeout(60)


def test_worker_that_cannot_start_fails_each_cell_and_the_run_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Stack("broken", "raw", "no-such-worker", "a stack whose workers cannot start")
    monkeypatch.setitem(STACKS, broken.name, broken)
    configs = select_configs(["seq json 100B", "pubsub proto 100B K=1"])
    started = time.monotonic()
    outcome = runner.run_benchmark(stacks=["broken"], configs=configs, reps=1, size="tiny")
    assert time.monotonic() - started < 45
    assert [c.status for c in outcome.cells] == ["failed", "failed"]
    for cell in outcome.cells:
        assert cell.value is None
        assert "no-such-worker" in (cell.error or ""), cell.error


def test_unknown_stack_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stack"):
        runner.run_benchmark(stacks=["nope"], configs=select_configs(None), reps=1, size="tiny")
