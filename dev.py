#!/usr/bin/env python3
"""One entry point for working on this checkout; it needs only python3 (>= 3.10).

    python3 dev.py conform [--target T] [pytest args]   the main job: the conformance suite
                                                         against a host (default: the bundled
                                                         Python host), then the compatibility matrix
    python3 dev.py test                                  every test: unit/integration tests,
                                                         the suite against python and autogen, and
                                                         the codec tests on current grpcio/protobuf
    python3 dev.py setup                                 only create/refresh the virtualenvs

Each command creates what it needs on first use:
  .venv         the main environment: this project (editable) + test extras, including the
                reference peer autogen-ext[grpc]==0.7.5 (grpcio 1.70, protobuf 5.29)
  .venv-latest  the same project with the newest grpcio/protobuf and no autogen-ext, to prove
                the package works on current releases too
A venv is reinstalled when pyproject.toml changes (a hash stamp inside it).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MAIN_VENV = ROOT / ".venv"
LATEST_VENV = ROOT / ".venv-latest"
REPORTS = ROOT / "reports"

# What each environment installs, on top of `pip install -e .[extras]`.
ENVIRONMENTS = {
    MAIN_VENV: {"extras": "test,bench", "upgrade": []},
    LATEST_VENV: {"extras": "test-core", "upgrade": ["grpcio", "protobuf"]},
}


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _stamp(spec: dict) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(repr(sorted(spec.items())).encode())
    return digest.hexdigest()


def ensure_env(env: Path) -> Path:
    """Create or refresh one virtualenv; return its python."""
    spec = ENVIRONMENTS[env]
    stamp_file = env / ".agentrpc-stamp"
    want = _stamp(spec)
    python = _python(env)
    if python.exists() and stamp_file.exists() and stamp_file.read_text() == want:
        return python
    print(f"[dev] setting up {env.name} (first use or pyproject.toml changed) ...", flush=True)
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(env)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "--upgrade", "pip", "setuptools", "wheel"])
    _run([*pip, "-e", f".[{spec['extras']}]"])
    if spec["upgrade"]:
        _run([*pip, "--upgrade", *spec["upgrade"]])
    stamp_file.write_text(want)
    return python


def _run(cmd: list[str], **kwargs) -> int:
    result = subprocess.run(cmd, cwd=ROOT, **kwargs)
    if result.returncode != 0 and kwargs.get("check", True):
        raise SystemExit(f"[dev] command failed ({result.returncode}): {' '.join(cmd)}")
    return result.returncode


def _pytest(python: Path, args: list[str]) -> int:
    return subprocess.run([str(python), "-m", "pytest", *args], cwd=ROOT).returncode


def cmd_conform(args: list[str]) -> int:
    python = ensure_env(MAIN_VENV)
    if not any(a.startswith("--target") for a in args):
        args = ["--target=python", *args]
    REPORTS.mkdir(exist_ok=True)
    return _pytest(python, ["conformance", "-p", "no:cacheprovider", *args])


def cmd_test(args: list[str]) -> int:
    python = ensure_env(MAIN_VENV)
    latest = ensure_env(LATEST_VENV)
    REPORTS.mkdir(exist_ok=True)
    # (title, interpreter, pytest arguments, JUnit file). The conformance steps use the file names
    # the suite's plugin chooses by itself, so reports/ looks the same as after `pytest conformance`.
    steps: list[tuple[str, Path, list[str], Path]] = [
        ("unit and integration tests (grpcio 1.70 / protobuf 5.29, with autogen-ext 0.7.5)",
         python, ["tests", "-n", "2", "-q", *args], REPORTS / "junit-tests.xml"),
        ("conformance suite against the bundled Python host",
         python, ["conformance", "--target=python", "-q", "-p", "no:cacheprovider"], REPORTS / "junit-python.xml"),
        ("conformance suite against autogen-ext's host",
         python, ["conformance", "--target=autogen", "-q", "-p", "no:cacheprovider"], REPORTS / "junit-autogen.xml"),
        ("tests that need no autogen-ext, on the newest grpcio/protobuf",
         latest, ["tests", "-n", "2", "-q", "-m", "not autogen", *args], REPORTS / "junit-tests-latest.xml"),
    ]
    failed = []
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for title, interpreter, pytest_args, junit in steps:
        print(f"\n[dev] === {title} ===", flush=True)
        junit.unlink(missing_ok=True)
        counts = _junit_counts(junit) if _pytest(interpreter, [*pytest_args, f"--junitxml={junit}"]) == 0 else None
        if counts is None:
            failed.append(title)
            counts = _junit_counts(junit)
            # A step can fail outside any test (no report, a stale known deviation, no tests collected):
            # it counts as one failure, so the closing line is never greener than the exit code.
            counts["failed"] = max(counts.get("failed", 0), 1)
        for key, count in counts.items():
            totals[key] += count
    print()
    if failed:
        print("[dev] FAILED: " + "; ".join(failed))
    else:
        print(f"[dev] all {len(steps)} test steps passed")
    # One plain closing line over all steps, the line CI reads.
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 1 if failed else 0


def _junit_counts(path: Path) -> dict[str, int]:
    """passed/failed/skipped from a pytest JUnit XML file (pytest writes xfails, i.e. known deviations, as skipped)."""
    if not path.exists():
        return {"passed": 0, "failed": 0, "skipped": 0}
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return {"passed": tests - failed - skipped, "failed": failed, "skipped": skipped}


def cmd_setup(_args: list[str]) -> int:
    ensure_env(MAIN_VENV)
    ensure_env(LATEST_VENV)
    return 0


COMMANDS = {"conform": cmd_conform, "test": cmd_test, "setup": cmd_setup}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
