"""``agentrpc demo`` end to end: a host and worker processes finish the scripted chat by themselves."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pyruntime.demo.agents import DRAFTS


def run_demo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyruntime.cli", "demo", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def chat_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("[round ")]


def test_demo_runs_the_scripted_conversation() -> None:
    result = run_demo("--rounds", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = chat_lines(result.stdout)
    assert len(lines) == 6
    # Round-robin: writer, editor, writer, editor, ... with the scripted texts.
    assert [line.split(":", 1)[0].split()[-1] for line in lines] == ["writer", "editor"] * 3
    assert DRAFTS[0] in lines[0] and DRAFTS[2] in lines[4]
    # The editor's review carries the word count it got from the writer over RPC.
    assert f"{len(DRAFTS[1].split())} words" in lines[3]
    assert "conversation complete: 3 rounds, 6 messages" in result.stdout


def test_demo_rejects_bad_rounds() -> None:
    result = run_demo("--rounds", "0", timeout=20)
    assert result.returncode == 2 and "--rounds" in result.stderr


@pytest.mark.autogen
def test_demo_with_an_autogen_worker() -> None:
    pytest.importorskip("autogen_ext.runtimes.grpc", reason="--with-autogen needs autogen-ext[grpc]==0.7.5, not installed in this environment")
    result = run_demo("--rounds", "2", "--with-autogen")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = chat_lines(result.stdout)
    assert len(lines) == 4
    editor_lines = [line for line in lines if "editor:" in line]
    assert len(editor_lines) == 2 and all("(reviewed on autogen-ext)" in line for line in editor_lines)
    assert "editor (autogen-ext)" in result.stdout
