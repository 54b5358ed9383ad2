"""The engine against deliberately wrong hosts (real grpc.aio servers): step caps hold, checks fail.

Negative controls, part 1: negative cases must FAIL against ``YesHost`` (accepts and echoes everything),
and nothing may hang against ``DeafHost`` (never answers).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conformance.engine.loader import load_scenarios, scenarios_from_document
from conformance.engine.profile import profile_from_document
from conformance.engine.runner import ScenarioRunner
from conformance.verdict import DEVIATION, FAIL, PASS, judge
from tests.conformance.rogue_hosts import DeafHost, YesHost, serving


def profile(**capabilities):
    return profile_from_document({"target": "rogue", "capabilities": capabilities, "known_deviations": []}, Path("rogue.yaml"))


def scenario(steps: list[dict], peers: dict | None = None, timeout: float = 10):
    document = {
        "id": "engine.test.case",
        "level": "required",
        "tags": ["engine", "none"],
        "peers": peers or {"a": {}, "b": {}},
        "steps": steps,
        "timeout": timeout,
    }
    [case] = scenarios_from_document(document, Path("inline.yaml"))
    return case


CASES = {c.id: c for c in load_scenarios()}

# Negative cases whose assertion a host that accepts and echoes everything must violate.
MUST_FAIL_ON_YES_HOST = [
    "registration.duplicate-type.other-client",
    "registration.duplicate-type.same-client",
    "subscriptions.add.empty-oneof-rejected",
    "subscriptions.remove.unknown-id-rejected",
    "subscriptions.duplicate.same-id-rejected",
    "client-id.missing.register-agent-rejected",
    "client-id.missing.open-channel-rejected",
    "client-id.missing.open-control-rejected",
    "events.no-subscriber.silence",
    "events.prefix-subscription.not-matched-in-reverse",
    "bad-input.empty-message.ignored",
    "control.destination.not-echoed-to-sender",
    "rpc.unknown-target.error-response",
]


async def test_negative_cases_fail_against_a_host_that_accepts_everything() -> None:
    async with serving(YesHost()) as endpoint:
        runner = ScenarioRunner(endpoint, profile(rpc_timeout_seconds=0.5))
        failures = {}
        for case_id in MUST_FAIL_ON_YES_HOST:
            outcome = await runner.run(CASES[case_id])
            failures[case_id] = outcome.failure
        assert [c for c, f in failures.items() if f is None] == []
        # ... and each fails on its assertion, not on an engine or stream error.
        broken = {c: f for c, f in failures.items() if "engine error" in f or "already ended" in f}
        assert broken == {}


async def test_a_positive_case_passes_against_the_same_host() -> None:
    # Proves the failures above come from the assertions, not from an engine that fails everything.
    async with serving(YesHost()) as endpoint:
        outcome = await ScenarioRunner(endpoint, profile()).run(CASES["registration.basic.ok"])
        assert outcome.passed, outcome.failure


async def test_unary_step_cap_against_a_host_that_never_answers() -> None:
    case = scenario([{"call": {"peer": "a", "method": "RegisterAgent", "request": {"type": "X"}, "within": 0.3}}])
    async with serving(DeafHost()) as endpoint:
        started = time.monotonic()
        outcome = await ScenarioRunner(endpoint, profile()).run(case)
        elapsed = time.monotonic() - started
    assert not outcome.passed
    assert "expected status OK, got DEADLINE_EXCEEDED" in outcome.failure
    assert elapsed < 3.0


async def test_expect_step_fails_in_time_when_nothing_arrives() -> None:
    case = scenario([{"open": {"peer": "a"}}, {"expect": {"peer": "a", "within": 0.3, "message": {"request": {}}}}])
    async with serving(DeafHost()) as endpoint:
        started = time.monotonic()
        outcome = await ScenarioRunner(endpoint, profile()).run(case)
        elapsed = time.monotonic() - started
    assert outcome.failed_step == 1 and "nothing arrived" in outcome.failure
    assert elapsed < 4.0


async def test_whole_case_cap_bounds_a_long_scenario() -> None:
    steps = [{"open": {"peer": "a"}}] + [{"expect": {"peer": "a", "within": 2, "message": {}}}] * 5
    case = scenario(steps, timeout=1.0)
    async with serving(DeafHost()) as endpoint:
        started = time.monotonic()
        outcome = await ScenarioRunner(endpoint, profile()).run(case)
        elapsed = time.monotonic() - started
    assert "exceeded its cap of 1s" in outcome.failure
    assert elapsed < 4.0


async def test_silence_fails_when_a_message_arrives_and_trace_shows_it() -> None:
    case = scenario([
        {"open": {"peer": "a"}},
        {"open": {"peer": "b"}},
        {"send": {"peer": "a", "message": {"request": {"requestId": "x", "target": {"type": "T", "key": "k"}}}}},
        {"silence": {"peer": "b", "for": 0.3}},
    ])
    async with serving(YesHost()) as endpoint:
        outcome = await ScenarioRunner(endpoint, profile()).run(case)
    assert outcome.failed_step == 3 and "received a request" in outcome.failure
    trace = outcome.trace.format()
    assert "<-   b" in trace and '"requestId":"x"' in trace and "FAILED" in trace


async def test_status_check_fails_on_wrong_code_and_any_of_accepts_alternatives() -> None:
    wrong = scenario([{"call": {"peer": "a", "method": "RegisterAgent", "request": {"type": "X"}, "status": "INVALID_ARGUMENT"}}])
    alternatives = scenario([{"call": {"peer": "a", "method": "RegisterAgent", "request": {"type": "X"}, "status": {"any_of": ["INVALID_ARGUMENT", "OK"]}}}])
    async with serving(YesHost()) as endpoint:
        runner = ScenarioRunner(endpoint, profile())
        assert "expected status INVALID_ARGUMENT, got OK" in (await runner.run(wrong)).failure
        assert (await runner.run(alternatives)).passed


async def test_expect_matches_and_mismatch_names_the_field() -> None:
    case = scenario([
        {"open": {"peer": "a"}},
        {"send": {"peer": "a", "message": {"request": {"requestId": "r1", "target": {"type": "T", "key": "k"}}}}},
        {"expect": {"peer": "a", "message": {"request": {"requestId": "r2"}}}},
    ])
    async with serving(YesHost()) as endpoint:
        outcome = await ScenarioRunner(endpoint, profile()).run(case)
    assert ".request.requestId" in outcome.failure and "'r2'" not in outcome.failure and '"r2"' in outcome.failure


async def test_strict_deviation_list_a_listed_case_that_passes_fails() -> None:
    listed = profile_from_document(
        {"target": "rogue", "capabilities": {}, "known_deviations": [{"case": "registration.basic.ok", "reason": "believed broken"}]},
        Path("rogue.yaml"),
    )
    async with serving(YesHost()) as endpoint:
        outcome = await ScenarioRunner(endpoint, listed).run(CASES["registration.basic.ok"])
    assert outcome.passed
    verdict = judge(CASES["registration.basic.ok"], outcome, listed)
    assert verdict.status == FAIL and "PASSED" in verdict.detail
    assert judge(CASES["registration.basic.ok"], outcome, profile()).status == PASS


async def test_listed_case_that_fails_is_a_deviation_with_its_reason() -> None:
    case_id = "registration.duplicate-type.other-client"
    listed = profile_from_document(
        {"target": "rogue", "capabilities": {}, "known_deviations": [{"case": case_id, "reason": "accepts duplicates", "status": "unconfirmed"}]},
        Path("rogue.yaml"),
    )
    async with serving(YesHost()) as endpoint:
        outcome = await ScenarioRunner(endpoint, listed).run(CASES[case_id])
    verdict = judge(CASES[case_id], outcome, listed)
    assert verdict.status == DEVIATION and verdict.detail == "accepts duplicates" and verdict.deviation_status == "unconfirmed"


@pytest.mark.parametrize("case_id", ["rpc.timeout.error-response", "rpc.target-disconnect.error-response"])
async def test_rpc_waits_are_bounded_by_step_caps_against_a_silent_host(case_id: str) -> None:
    async with serving(DeafHost()) as endpoint:
        started = time.monotonic()
        outcome = await ScenarioRunner(endpoint, profile(rpc_timeout_seconds=0.2)).run(CASES[case_id])
        elapsed = time.monotonic() - started
    assert not outcome.passed
    assert elapsed < CASES[case_id].timeout + 1


async def test_bearer_token_is_sent_on_every_unary_call_and_stream() -> None:
    from pyruntime.security import BearerTokenInterceptor

    case = CASES["rpc.self-call.round-trip"]  # unary calls and a data stream
    guard = (BearerTokenInterceptor(["s3cret"]),)
    async with serving(YesHost(), guard, bearer_token="s3cret") as endpoint:
        with_token = await ScenarioRunner(endpoint, profile()).run(case)
    async with serving(YesHost(), guard) as endpoint:
        without = await ScenarioRunner(endpoint, profile()).run(case)
    assert with_token.passed, with_token.failure
    assert not without.passed and "UNAUTHENTICATED" in without.failure
