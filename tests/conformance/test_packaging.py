"""The wheel carries everything `agentrpc conform` needs outside a checkout.

The suite's scenarios and schemas live in fixtures/ and reach the package through the
conformance/data symlinks; a packaging change that drops them would only show on a user's
machine, so the built wheel is checked here (no network: the venv's own setuptools builds it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import setuptools, wheel"], capture_output=True).returncode != 0,
    reason="building the wheel offline needs setuptools and wheel in this environment",
)


def test_wheel_ships_the_suite_data(tmp_path: Path) -> None:
    # Build from a clean copy: an in-tree build would reuse setuptools' build/ directory, whose
    # stale files could hide a packaging regression.
    source = tmp_path / "src"
    shutil.copytree(
        ROOT, source, symlinks=True,
        ignore=shutil.ignore_patterns(".git", ".venv*", "reports", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("agentrpc_conformance-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    scenarios = sorted(p.relative_to(ROOT / "fixtures").as_posix() for p in (ROOT / "fixtures" / "scenarios").rglob("*.yaml"))
    schemas = sorted(p.relative_to(ROOT / "fixtures").as_posix() for p in (ROOT / "fixtures" / "schema").glob("*.json"))
    assert scenarios and schemas
    missing = [f"conformance/data/{name}" for name in scenarios + schemas if f"conformance/data/{name}" not in names]
    assert missing == []
    for required in (
        "conformance/suite.ini", "conformance/profiles/python.yaml", "conformance/profiles/autogen.yaml",
        "conformance/profiles/dotnet.yaml", "pyruntime/py.typed", "pyruntime/_proto/agent_worker_pb2.pyi",
        "pyruntime/_proto/agent_worker_pb2.py", "conformance/command.py",
    ):
        assert required in names, required
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "agentrpc = pyruntime.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
