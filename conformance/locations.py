"""Where the suite's data lives: scenarios, schemas and profiles.

In a checkout they are ``fixtures/scenarios``, ``fixtures/schema`` and ``conformance/profiles``.
An installed package carries copies of the fixtures as package data under ``conformance/data/``;
``AGENTRPC_CONFORMANCE_DATA`` (a directory holding ``scenarios/`` and ``schema/``) overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


class DataNotFoundError(FileNotFoundError):
    """The scenarios/schemas are neither in a checkout nor installed as package data."""


def data_root() -> Path:
    """The directory holding ``scenarios/`` and ``schema/``."""
    override = os.environ.get("AGENTRPC_CONFORMANCE_DATA")
    candidates = [Path(override)] if override else []
    candidates += [PACKAGE / "data", PACKAGE.parent / "fixtures"]
    for candidate in candidates:
        if (candidate / "scenarios").is_dir() and (candidate / "schema").is_dir():
            return candidate
    raise DataNotFoundError(
        "conformance scenarios not found: looked in "
        + ", ".join(str(c) for c in candidates)
        + "; reinstall the package or set AGENTRPC_CONFORMANCE_DATA to a directory with scenarios/ and schema/"
    )


def scenarios_dir() -> Path:
    return data_root() / "scenarios"


def schema_path(name: str) -> Path:
    """``name`` is ``scenario`` or ``profile``."""
    return data_root() / "schema" / f"{name}.schema.json"


def profiles_dir() -> Path:
    return PACKAGE / "profiles"
