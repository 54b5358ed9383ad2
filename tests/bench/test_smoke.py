"""Smoke run of the benchmark harness: every configuration on every stack at tiny size, real processes.

Checks counts and correctness (each event delivered exactly once per subscriber with an intact body,
each RPC answered with its own payload), never timing.
"""

from __future__ import annotations

import pytest

from benchmarks.configs import PUBSUB, RUN_SIZES, all_configs
from benchmarks.runner import run_benchmark

pytestmark = pytest.mark.timeout(90)

STACK_PARAMS = [
    pytest.param("raw", id="raw"),
    pytest.param("ours", id="ours"),
    pytest.param("ours-host+raw", id="ours-host+raw"),
    pytest.param("autogen", id="autogen", marks=pytest.mark.autogen),
    pytest.param("ours-host+autogen", id="ours-host+autogen", marks=pytest.mark.autogen),
    pytest.param("ours-asyncio", id="ours-asyncio"),
    pytest.param("autogen-uvloop", id="autogen-uvloop", marks=pytest.mark.autogen),
]


@pytest.mark.parametrize("stack", STACK_PARAMS)
def test_every_config_delivers_exactly_once_and_answers_correctly(stack: str) -> None:
    configs = all_configs()
    outcome = run_benchmark(stacks=[stack], configs=configs, reps=1, size="tiny")

    assert [c.config for c in outcome.cells] == [c.name for c in configs]
    problems = [f"{c.config}: {c.status} {c.error}" for c in outcome.cells if c.status != "ok"]
    assert not problems, problems
    by_name = {c.name: c for c in configs}
    for cell in outcome.cells:
        config = by_name[cell.config]
        counts = RUN_SIZES["tiny"][config.size_label]
        assert cell.value is not None and cell.value > 0
        if config.kind == PUBSUB:
            assert cell.counts == {"expected": counts.pubsub * config.k, "delivered": counts.pubsub * config.k,
                                   "duplicates": 0, "corrupt": 0}, cell.config
        else:
            n = counts.seq if config.kind == "seq" else counts.conc
            assert cell.counts == {"expected": n, "answered": n, "wrong": 0, "errors": 0}, cell.config
            assert cell.p50_ms is not None and cell.p99_ms is not None and cell.p50_ms <= cell.p99_ms
    # Nothing arrived late for an earlier run and nothing unrecognisable reached a subscriber.
    assert outcome.audits[stack] == [{"stale": 0, "foreign": 0}]


def test_each_stack_runs_on_the_event_loop_it_names() -> None:
    from benchmarks.configs import select_configs
    from pyruntime.event_loop import uvloop_available

    outcome = run_benchmark(stacks=["ours", "ours-asyncio"], configs=select_configs(["seq json 100B"]), reps=1,
                            size="tiny")
    fast = "uvloop" if uvloop_available() else "asyncio"
    assert outcome.meta["event_loops"] == {"ours": {"host": fast, "workers": fast},
                                           "ours-asyncio": {"host": "asyncio", "workers": "asyncio"}}
