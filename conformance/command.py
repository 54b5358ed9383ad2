"""``agentrpc conform``: run the installed conformance suite against a target, outside any checkout.

    agentrpc conform --target python|autogen|dotnet|container:IMAGE|build:PATH|HOST:PORT [pytest/suite options]

Every option of ``pytest conformance`` works here (--payload-format, --level, --case, --list-cases,
--report-dir, --tls-*, ...). Without --target, the bundled Python host is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def pytest_arguments(argv: list[str]) -> list[str]:
    """The pytest command line for ``argv`` (exposed for tests)."""
    args = list(argv)
    if not any(a == "--target" or a.startswith("--target=") for a in args) and "--list-cases" not in args:
        args = ["--target=python", *args]
    # Our own ini and rootdir: the user's current project configuration must not leak into the suite.
    return [str(PACKAGE), "-c", str(PACKAGE / "suite.ini"), "--rootdir", str(PACKAGE), "-p", "no:cacheprovider", *args]


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\nSuite options (pytest --help lists them under 'AgentRpc conformance suite').")
        return 0
    try:
        import pytest
    except ImportError:
        print("agentrpc conform needs pytest: pip install 'agentrpc-conformance[conform]'", file=sys.stderr)
        return 2
    return int(pytest.main(pytest_arguments(argv)))
