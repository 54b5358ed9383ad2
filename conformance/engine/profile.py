"""Target profiles: capabilities (what applies) and strict known deviations (what must fail)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.engine.errors import ProfileError, ScenarioError
from conformance.engine.loader import load_schema, validate_document
from conformance.engine.scenario import Scenario
from conformance.locations import profiles_dir


@dataclass(frozen=True)
class Deviation:
    """A case the target is known to fail, and why."""

    case: str
    reason: str
    cites: str = ""
    status: str = "confirmed"


@dataclass
class TargetProfile:
    """A validated ``conformance/profiles/<name>.yaml`` (or an empty default for unknown targets)."""

    target: str
    capabilities: dict[str, Any]
    deviations: dict[str, Deviation] = field(default_factory=dict)
    description: str = ""
    path: Path | None = None

    def capability(self, key: str) -> Any:
        """The declared value, else the schema default."""
        if key in self.capabilities:
            return self.capabilities[key]
        return load_schema("profile")["$defs"]["capabilities"]["properties"][key].get("default")

    def unmet_requirement(self, scenario: Scenario) -> str | None:
        """Why the target does not meet the case's `requires` (None = it does)."""
        for key, wanted in scenario.requires.items():
            have = self.capability(key)
            if wanted == "*":
                ok = have not in (None, False, [], "none")
            elif isinstance(wanted, list):
                ok = have in wanted or (isinstance(have, list) and bool(set(have) & set(wanted)))
            elif isinstance(have, list):
                ok = wanted in have
            else:
                ok = have == wanted
            if not ok:
                return f"requires {key}={wanted!r}; profile {self.target!r} has {key}={have!r}"
        return None

    def check_cases(self, known_ids: Iterable[str]) -> None:
        """Every deviation must name a real case (stale lists are errors)."""
        known = set(known_ids)
        stale = sorted(set(self.deviations) - known)
        if stale:
            raise ProfileError(
                f"{self.path}: known_deviations name unknown case id(s) {stale}; see --list-cases"
            )


def load_profile(name: str, directory: Path | None = None) -> TargetProfile:
    """Load and validate the profile for target ``name`` (or a path to a .yaml file).

    A target without a profile file gets the schema defaults and no deviations.
    """
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.exists():
            raise ProfileError(f"profile file {path} does not exist")
        return profile_from_document(yaml.safe_load(path.read_text(encoding="utf-8")), path)
    path = (directory or profiles_dir()) / f"{name}.yaml"
    if not path.exists():
        return TargetProfile(target=name, capabilities={}, description="no profile file: schema defaults")
    return profile_from_document(yaml.safe_load(path.read_text(encoding="utf-8")), path)


def profile_from_document(document: Any, path: Path) -> TargetProfile:
    try:
        validate_document(document, "profile", str(path))
    except ScenarioError as error:
        raise ProfileError(str(error)) from None
    deviations: dict[str, Deviation] = {}
    for entry in document.get("known_deviations") or []:
        if entry["case"] in deviations:
            raise ProfileError(f"{path}: case {entry['case']!r} is listed twice in known_deviations")
        deviations[entry["case"]] = Deviation(
            case=entry["case"], reason=entry["reason"], cites=entry.get("cites", ""), status=entry.get("status", "confirmed")
        )
    return TargetProfile(
        target=document["target"],
        capabilities=dict(document.get("capabilities") or {}),
        deviations=deviations,
        description=document.get("description", ""),
        path=path,
    )


def write_deviations(profile: TargetProfile, failed: dict[str, str], reason_default: str) -> Path:
    """Rewrite the profile's known_deviations to exactly ``failed`` (case id -> failure summary).

    Entries that stay keep their reason/cites/status; new ones get ``reason_default`` (which must be a
    real explanation: the schema rejects empty or TODO reasons). Everything else in the file is kept.
    """
    if profile.path is None:
        raise ProfileError(f"target {profile.target!r} has no profile file to update; create conformance/profiles/{profile.target}.yaml")
    document = yaml.safe_load(profile.path.read_text(encoding="utf-8"))
    entries = []
    for case in sorted(failed):
        old = profile.deviations.get(case)
        if old is not None:
            entry = {"case": case, "reason": old.reason}
            if old.cites:
                entry["cites"] = old.cites
            entry["status"] = old.status
        else:
            entry = {"case": case, "reason": reason_default, "status": "confirmed"}
        entries.append(entry)
    document["known_deviations"] = entries
    profile_from_document(document, profile.path)  # refuse to write an invalid profile
    profile.path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return profile.path
