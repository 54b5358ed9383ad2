"""Negative controls, part 2: every negative case passes against a real host, and its control variant
(one mutated step, named in the scenario) FAILS against the same host. So each negative check can fail.

Runs against our host (``agentrpc host`` in a subprocess) and, marked ``autogen``, against autogen-ext's host.
A case listed as a known deviation of the target is left out (its original fails by definition).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from conformance.engine.loader import load_scenarios
from conformance.engine.profile import TargetProfile, load_profile
from conformance.engine.runner import ScenarioRunner
from conformance.session import EXCLUSIVE_TAG
from conformance.targets import TargetUnavailable, resolve_target
from conformance.targets.base import Endpoint

NEGATIVE = [c for c in load_scenarios() if c.negative]


@pytest.fixture(scope="module", params=["python", pytest.param("autogen", marks=pytest.mark.autogen)])
def host(request: pytest.FixtureRequest) -> Iterator[tuple[Endpoint, TargetProfile]]:
    target = resolve_target(request.param)
    try:
        endpoint = target.start()
    except TargetUnavailable as error:
        pytest.skip(str(error))
    try:
        yield endpoint, load_profile(request.param)
    finally:
        target.stop()


def test_there_are_negative_cases_with_controls() -> None:
    assert len(NEGATIVE) >= 20
    assert all(c.control is not None for c in NEGATIVE)


def test_each_negative_case_passes_and_its_control_fails(host: tuple[Endpoint, TargetProfile]) -> None:
    endpoint, profile = host
    cases = [c for c in NEGATIVE if profile.unmet_requirement(c) is None and c.id not in profile.deviations]
    assert cases

    async def run_all() -> dict[str, tuple[str | None, str | None]]:
        runner = ScenarioRunner(endpoint, profile)
        gate = asyncio.Semaphore(8)

        async def both(case):
            async with gate:
                original = await runner.run(case)
                control = await runner.run(case.with_control())
            return case.id, (original.failure, control.failure)

        heavy = [c for c in cases if EXCLUSIVE_TAG in c.tags]  # run alone, as the suite does
        results = dict([await both(c) for c in heavy])
        results.update(await asyncio.gather(*(both(c) for c in cases if c not in heavy)))
        return results

    results = asyncio.run(run_all())
    originals_failing = {cid: f for cid, (f, _) in results.items() if f is not None}
    controls_passing = [cid for cid, (_, f) in results.items() if f is None]
    controls_broken = {cid: f for cid, (_, f) in results.items() if f and ("engine error" in f or "no peer named" in f)}
    assert originals_failing == {}
    assert controls_passing == []
    assert controls_broken == {}
