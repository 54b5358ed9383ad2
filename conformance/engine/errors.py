"""Exceptions of the replay engine.

    ScenarioError            a scenario file is malformed (message names the file and JSON path)
    ProfileError             a target profile is malformed
    StepFailure              a step's expectation did not hold (message says what was wanted and seen)
"""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file and the failing JSON path."""


class ProfileError(ValueError):
    """A target profile is malformed; the message names the file and the failing JSON path."""


class StepFailure(AssertionError):
    """A step's expectation did not hold."""
