"""Scenario and profile files: schema validation with JSON paths, semantic checks, negative-case rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.engine.errors import ProfileError, ScenarioError
from conformance.engine.loader import load_scenarios, scenarios_from_document
from conformance.engine.profile import load_profile, profile_from_document, write_deviations
from conformance.engine.runner import step_kind
from conformance.engine.scenario import Scenario
from conformance.selection import CaseSelection

MINIMAL = {
    "id": "demo.minimal.case",
    "level": "required",
    "tags": ["registration", "none"],
    "peers": {"w": {}},
    "steps": [{"call": {"peer": "w", "method": "RegisterAgent", "request": {"type": "${ns}_A"}}}],
}


def build(**changes) -> list[Scenario]:
    document = {**MINIMAL, **changes}
    return scenarios_from_document(document, Path("inline.yaml"))


def test_shipped_scenarios_load_with_at_least_60_unique_cases() -> None:
    cases = load_scenarios()
    assert len(cases) >= 60
    assert len({c.id for c in cases}) == len(cases)
    areas = {c.id.split(".")[0] for c in cases}
    assert {"registration", "subscriptions", "events", "rpc", "control", "client-id", "bad-input"} <= areas


def test_minimal_scenario_is_valid() -> None:
    [case] = build()
    assert case.payload_format == "none"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"level": "mandatory"}, "$.level"),
        ({"steps": [{"call": {"peer": "w", "method": "Nope"}}]}, "$.steps[0]"),
        ({"steps": [{"silence": {"peer": "w", "for": -1}}]}, "$.steps[0]"),
        ({"id": "NoDots"}, "$.id"),
        ({"peers": {"w": {"client_id": 3}}}, "$.peers.w"),
    ],
)
def test_schema_errors_name_the_json_path(changes: dict, path: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        build(**changes)
    assert "inline.yaml" in str(raised.value)
    assert path in str(raised.value)


def test_requires_must_name_declared_capabilities() -> None:
    with pytest.raises(ScenarioError, match=r"\$\.requires: unknown capability key\(s\) \['teleportation'\]"):
        build(requires={"teleportation": True})


def test_steps_must_name_declared_peers() -> None:
    with pytest.raises(ScenarioError, match=r"\$\.steps\[0\]\.open\.peer: no peer named 'ghost'"):
        build(steps=[{"open": {"peer": "ghost"}}])


def test_exactly_one_payload_tag_unless_template() -> None:
    with pytest.raises(ScenarioError, match="payload tag"):
        build(tags=["registration"])
    with pytest.raises(ScenarioError, match="payload tag"):
        build(tags=["registration", "json", "protobuf"])


def test_format_template_expands_per_format() -> None:
    cases = build(tags=["rpc"], formats=["json", "protobuf"], steps=[{"open": {"peer": "w", "settle": 0}}, {"note": "${format}", "silence": {"peer": "w"}}])
    assert [c.id for c in cases] == ["demo.minimal.case.json", "demo.minimal.case.protobuf"]
    assert [c.payload_format for c in cases] == ["json", "protobuf"]
    assert cases[1].steps[1]["note"] == "protobuf"


def test_negative_case_requires_a_control() -> None:
    with pytest.raises(ScenarioError, match="control"):
        build(negative=True)


def _asserts_something_negative(case: Scenario) -> bool:
    for step in case.steps:
        kind = step_kind(step)
        spec = step[kind]
        if kind in ("silence", "expect_end"):
            return True
        if kind == "call" and spec.get("status", "OK") != "OK":
            return True
        if kind == "expect" and "error" in str(spec.get("message", {})) and "$regex" in str(spec["message"]):
            return True
    return False


def test_every_negative_assertion_is_a_negative_case_with_a_control() -> None:
    unmarked = [c.id for c in load_scenarios() if _asserts_something_negative(c) and not (c.negative and c.control)]
    assert unmarked == []


def test_control_variant_replaces_or_removes_one_step() -> None:
    cases = {c.id: c for c in load_scenarios()}
    removed = cases["subscriptions.remove.stops-routing"].with_control()
    assert len(removed.steps) == len(cases["subscriptions.remove.stops-routing"].steps) - 1
    replaced = cases["client-id.missing.open-channel-rejected"].with_control()
    assert replaced.peers["anonymous"] == {}
    assert replaced.id.endswith("#control")


def test_selection_by_format_and_level() -> None:
    cases = load_scenarios()
    json_only = [c for c in cases if CaseSelection(payload_format="json").accepts(c)]
    assert json_only and all(c.payload_format in ("json", "none") for c in json_only)
    assert any(c.payload_format == "none" for c in json_only)
    required = [c for c in cases if CaseSelection(level="required").accepts(c)]
    assert required and all(c.level == "required" for c in required)


def test_shipped_profiles_are_valid_and_python_has_no_deviations() -> None:
    ids = [c.id for c in load_scenarios()]
    python = load_profile("python")
    python.check_cases(ids)
    assert python.deviations == {}
    autogen = load_profile("autogen")
    autogen.check_cases(ids)
    assert autogen.deviations and all(d.reason and d.cites for d in autogen.deviations.values())


def test_profile_rejects_todo_reason_unknown_capability_and_stale_case() -> None:
    base = {"target": "x", "capabilities": {}, "known_deviations": []}
    with pytest.raises(ProfileError, match="known_deviations"):
        profile_from_document({**base, "known_deviations": [{"case": "a.b", "reason": "TODO: explain"}]}, Path("x.yaml"))
    with pytest.raises(ProfileError, match="capabilities"):
        profile_from_document({**base, "capabilities": {"warp_drive": True}}, Path("x.yaml"))
    profile = profile_from_document({**base, "known_deviations": [{"case": "no.such.case", "reason": "r"}]}, Path("x.yaml"))
    with pytest.raises(ProfileError, match="unknown case id"):
        profile.check_cases(["a.b"])


def test_unmet_requirement_explains_itself() -> None:
    [case] = build(requires={"control_routing": "echo_to_sender"})
    profile = profile_from_document({"target": "x", "capabilities": {}, "known_deviations": []}, Path("x.yaml"))
    reason = profile.unmet_requirement(case)
    assert reason is not None and "control_routing" in reason and "destination" in reason
    [star] = build(requires={"rpc_timeout_seconds": "*"})
    assert profile.unmet_requirement(star) is not None  # default null = no timeout claimed


def test_write_deviations_keeps_reasons_and_uses_the_given_reason_for_new_entries(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({
        "target": "t",
        "capabilities": {"rpc_timeout_seconds": 1},
        "known_deviations": [
            {"case": "a.stays", "reason": "kept reason", "cites": "X07", "status": "confirmed"},
            {"case": "a.fixed", "reason": "now passes"},
        ],
    }))
    profile = profile_from_document(yaml.safe_load(path.read_text()), path)
    write_deviations(profile, {"a.stays": "failed", "a.new": "failed"}, "seen failing on 2026-11-23")
    rewritten = yaml.safe_load(path.read_text())
    assert rewritten["capabilities"] == {"rpc_timeout_seconds": 1}
    entries = {e["case"]: e for e in rewritten["known_deviations"]}
    assert set(entries) == {"a.stays", "a.new"}
    assert entries["a.stays"]["reason"] == "kept reason" and entries["a.stays"]["cites"] == "X07"
    assert entries["a.new"]["reason"] == "seen failing on 2026-11-23"
    with pytest.raises(ProfileError):
        write_deviations(profile_from_document(rewritten, path), {"a.other": "failed"}, "TODO: explain")
