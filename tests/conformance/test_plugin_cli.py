"""The pytest plugin end to end, in subprocesses: --list-cases, strict deviations, --update-known-deviations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance.targets import resolve_target

ROOT = Path(__file__).resolve().parents[2]


def run_suite(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env,
    )


@pytest.fixture(scope="module")
def host_address() -> Iterator[str]:
    target = resolve_target("python")
    endpoint = target.start()
    try:
        yield endpoint.address
    finally:
        target.stop()


def write_profile(path: Path, capabilities: dict, deviations: list[dict]) -> Path:
    base = yaml.safe_load((ROOT / "conformance/profiles/python.yaml").read_text())
    base["capabilities"].update(capabilities)
    base["known_deviations"] = deviations
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    return path


def test_list_cases_prints_ids_levels_tags_and_exits() -> None:
    everything = run_suite("--list-cases")
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.strip().splitlines()
    total = int(lines[-1].split()[0])
    assert total >= 60 and len(lines) == total + 1
    assert any(line.startswith("rpc.success.request-and-response.protobuf") and "required" in line for line in lines)
    json_only = run_suite("--list-cases", "--payload-format", "json")
    assert ".protobuf " not in json_only.stdout and int(json_only.stdout.split()[-2]) < total


def test_listed_case_that_passes_fails_the_run(host_address: str, tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "p.yaml", {}, [{"case": "registration.basic.ok", "reason": "believed broken"}])
    result = run_suite(f"--target={host_address}", f"--profile={profile}", "--case=registration.basic.ok", f"--report-dir={tmp_path}")
    assert result.returncode == 1
    assert "PASSED: remove the entry" in result.stdout


def test_failing_case_listed_as_deviation_is_green_and_unlisted_failure_shows_trace(host_address: str, tmp_path: Path) -> None:
    # Claiming the .NET control policy makes control.echo-to-sender apply to our host, where it fails.
    claims = {"control_routing": "echo_to_sender"}
    listed = write_profile(tmp_path / "listed.yaml", claims, [{"case": "control.echo-to-sender", "reason": "routes by destination"}])
    ok = run_suite(f"--target={host_address}", f"--profile={listed}", "--case=control.echo-to-sender", f"--report-dir={tmp_path}")
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert "1 xfailed" in ok.stdout
    unlisted = write_profile(tmp_path / "unlisted.yaml", claims, [])
    bad = run_suite(f"--target={host_address}", f"--profile={unlisted}", "--case=control.echo-to-sender", f"--report-dir={tmp_path}")
    assert bad.returncode == 1
    assert "rerun just this case: pytest conformance" in bad.stdout and "--case=control.echo-to-sender" in bad.stdout
    assert "ms  dir  peer" in bad.stdout and "ControlMessage" in bad.stdout  # the annotated trace
    assert (tmp_path / "compatibility.md").exists() and (tmp_path / "compatibility.html").exists()
    assert list(tmp_path.glob("junit-*.xml"))


def small_data_dir(tmp_path: Path) -> Path:
    """A data directory with just two scenarios (AGENTRPC_CONFORMANCE_DATA), so a complete run is quick."""
    data = tmp_path / "data"
    (data / "scenarios").mkdir(parents=True)
    shutil.copytree(ROOT / "fixtures/schema", data / "schema")
    for name in ("registration/basic.yaml", "control/echo.yaml"):
        shutil.copy(ROOT / "fixtures/scenarios" / name, data / "scenarios" / name.replace("/", "-"))
    return data


def test_update_known_deviations_needs_a_reason_then_rewrites(host_address: str, tmp_path: Path) -> None:
    env = {**os.environ, "AGENTRPC_CONFORMANCE_DATA": str(small_data_dir(tmp_path))}
    profile = write_profile(
        tmp_path / "p.yaml", {"control_routing": "echo_to_sender"},
        [{"case": "registration.basic.ok", "reason": "stale entry"}],
    )
    before = profile.read_text()
    common = (f"--target={host_address}", f"--profile={profile}", "--update-known-deviations", f"--report-dir={tmp_path}")
    refused = run_suite(*common, env=env)
    assert refused.returncode != 0 and "need --deviation-reason" in refused.stdout
    assert profile.read_text() == before
    partial = run_suite(*common, "--case=registration.basic.ok", env=env)
    assert partial.returncode != 0 and "complete run" in partial.stderr
    done = run_suite(*common, "--deviation-reason=our host routes control messages by destination", env=env)
    assert "known_deviations rewritten" in done.stdout
    entries = {e["case"]: e["reason"] for e in yaml.safe_load(profile.read_text())["known_deviations"]}
    assert entries == {"control.echo-to-sender": "our host routes control messages by destination"}


def test_agentrpc_conform_runs_the_installed_suite_from_anywhere(tmp_path: Path) -> None:
    from conformance.command import pytest_arguments

    args = pytest_arguments(["--case=registration.basic.ok"])
    assert "--target=python" in args and "--rootdir" in args and args[0].endswith("conformance")
    assert "--target=python" not in pytest_arguments(["--list-cases"])
    listed = subprocess.run(
        [sys.executable, "-m", "pyruntime.cli", "conform", "--list-cases"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert int(listed.stdout.strip().splitlines()[-1].split()[0]) >= 60
