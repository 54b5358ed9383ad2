"""The committed fixtures are exactly what the generator writes today, and generation is deterministic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.golden import render_pack
from conformance.golden.command import main
from conformance.golden.compare import compare_pack, files_under
from tests.golden.committed_pack import PACK


def test_committed_fixtures_are_current(tmp_path: Path) -> None:
    out = tmp_path / "golden"
    assert main(["generate", "--out", str(out)]) == 0
    regenerated = {path: (out / path).read_bytes() for path in files_under(out)}
    difference = compare_pack(regenerated, PACK)
    assert difference.clean, "fixtures/golden is stale; run `agentrpc fixtures generate`:\n" + "\n".join(difference.lines())


def test_two_renders_are_byte_identical() -> None:
    first, second = render_pack(), render_pack()
    assert list(first) == list(second)
    assert all(first[path] == second[path] for path in first)


def test_check_passes_on_the_committed_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--dir", str(PACK)]) == 0
    assert "all current" in capsys.readouterr().out


def test_check_reports_every_kind_of_staleness(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "golden"
    shutil.copytree(PACK, copy)
    changed = copy / "agents.AgentId" / "basic.json"
    changed.write_bytes(changed.read_bytes().replace(b"assistant", b"assistent"))
    (copy / "agents.AgentId" / "empty.binpb").unlink()
    (copy / "agents.AgentId" / "extra.binpb").write_bytes(b"\x0a\x00")
    assert main(["check", "--dir", str(copy)]) == 1
    report = capsys.readouterr().err
    assert "changed:    agents.AgentId/basic.json" in report
    assert "missing:    agents.AgentId/empty.binpb" in report
    assert "unexpected: agents.AgentId/extra.binpb" in report


def test_generate_repairs_a_stale_pack_and_removes_leftovers(tmp_path: Path) -> None:
    copy = tmp_path / "golden"
    shutil.copytree(PACK, copy)
    (copy / "retired.type").mkdir()
    (copy / "retired.type" / "old.binpb").write_bytes(b"")
    (copy / "agents.AgentId" / "basic.binpb").write_bytes(b"garbage")
    assert main(["generate", "--out", str(copy)]) == 0
    assert compare_pack(render_pack(), copy).clean
    assert not (copy / "retired.type").exists()


def test_generate_refuses_a_directory_that_is_not_a_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["generate", "--out", str(tmp_path)]) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert "refusing" in capsys.readouterr().err
