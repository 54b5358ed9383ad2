"""``agentrpc bench``: the harness from the command line, and a clear error outside a checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pyruntime.cli import main

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]


def test_bench_help_lists_the_harness_subcommands(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "run" in out and "report" in out


def test_bench_outside_a_checkout_says_where_to_run_it(tmp_path: Path) -> None:
    # A fresh interpreter (the installed package only; -I keeps the working directory off sys.path)
    # run from a directory that has no benchmarks/.
    done = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; from pyruntime.cli import main; sys.exit(main(['bench', 'run']))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert "source checkout" in done.stderr and "python -m benchmarks" in done.stderr
