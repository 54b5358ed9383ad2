"""One test per selected scenario (parametrized by conformance.plugin)."""

from __future__ import annotations

import pytest

from conformance.engine.scenario import Scenario
from conformance.plugin import run_case
from conformance.session import ConformanceSession


def test_case(conformance_case: Scenario, conformance_session: ConformanceSession, request: pytest.FixtureRequest) -> None:
    run_case(conformance_session, conformance_case, request)
