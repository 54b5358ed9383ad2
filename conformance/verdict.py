"""Turn a case outcome plus the target's profile into a verdict: pass, fail, deviation or skip."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.engine.profile import TargetProfile
from conformance.engine.runner import CaseOutcome
from conformance.engine.scenario import Scenario

PASS, FAIL, DEVIATION, SKIP = "pass", "fail", "deviation", "skip"


@dataclass(frozen=True)
class Verdict:
    """What the report shows for one case on one target."""

    case_id: str
    status: str  # pass | fail | deviation | skip
    detail: str = ""  # failure text, deviation reason or skip reason
    deviation_status: str | None = None  # confirmed | unconfirmed for deviations
    cites: str = ""
    duration: float = 0.0


def skip_reason(scenario: Scenario, profile: TargetProfile) -> str | None:
    """Why the case does not apply to this target, or None."""
    return profile.unmet_requirement(scenario)


def judge(scenario: Scenario, outcome: CaseOutcome, profile: TargetProfile) -> Verdict:
    """Strict known deviations: a listed case must fail; a listed case that passes is a failure."""
    listed = profile.deviations.get(scenario.id)
    if outcome.passed:
        if listed is not None:
            return Verdict(
                scenario.id,
                FAIL,
                f"listed in known_deviations of profile {profile.target!r} but it PASSED: remove the entry "
                f"(strict list; reason was: {listed.reason})",
                duration=outcome.duration,
            )
        return Verdict(scenario.id, PASS, duration=outcome.duration)
    if listed is not None:
        return Verdict(
            scenario.id,
            DEVIATION,
            listed.reason,
            deviation_status=listed.status,
            cites=listed.cites,
            duration=outcome.duration,
        )
    return Verdict(scenario.id, FAIL, outcome.failure or "failed", duration=outcome.duration)
