"""The dotnet profile: valid against the profile schema, every deviation explained, unconfirmed, cited,
and pointing at a real case that the profile's own capabilities do not rule out."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from conformance.engine.loader import load_scenarios
from conformance.engine.profile import load_profile
from conformance.locations import profiles_dir, schema_path

PROFILE_PATH = profiles_dir() / "dotnet.yaml"
UNCONFIRMED_MARK = "derived from source, unconfirmed"


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(PROFILE_PATH.read_text(encoding="utf-8"))


def test_profile_validates_against_the_schema(document: dict) -> None:
    schema = json.loads(schema_path("profile").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert document["target"] == "dotnet"


def test_profile_loads_through_the_suite(document: dict) -> None:
    profile = load_profile("dotnet")
    assert profile.target == "dotnet"
    assert profile.capabilities == document["capabilities"]
    assert len(profile.deviations) == len(document["known_deviations"]), "a case is listed twice"


def test_every_deviation_is_explained_unconfirmed_and_cited(document: dict) -> None:
    entries = document["known_deviations"]
    assert entries, "the .NET gateway's source documents deviations; the profile must list them"
    for entry in entries:
        case = entry["case"]
        assert entry.get("status") == "unconfirmed", f"{case}: nothing was run against the gateway yet"
        assert UNCONFIRMED_MARK in entry["reason"].lower(), f"{case}: reason must say '{UNCONFIRMED_MARK}'"
        # More than the marker: the reason says what the gateway does.
        assert len(entry["reason"].lower().replace(UNCONFIRMED_MARK, "").strip(" :.")) >= 40, case
        assert re.search(r"wire-behaviors\.md \d+(\.\d+)?", entry.get("cites", "")), f"{case}: cite the section"


def test_every_deviation_names_an_existing_case_the_capabilities_allow() -> None:
    profile = load_profile("dotnet")
    cases = {case.id: case for case in load_scenarios()}
    profile.check_cases(cases)  # the suite's own stale-entry check
    for case_id in profile.deviations:
        assert case_id in cases, f"{case_id}: no such case (see --list-cases)"
        # A listed case that the capabilities skip would fail the run ("remove the entry").
        unmet = profile.unmet_requirement(cases[case_id])
        assert unmet is None, f"{case_id}: listed as a deviation but skipped by capability: {unmet}"
