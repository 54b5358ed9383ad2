"""Results files and the compatibility matrix (Markdown + standalone HTML), merged across targets."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.engine.loader import load_scenarios
from conformance.report.matrix import CompatibilityMatrix
from conformance.report.results import read_results, results_path, write_results
from conformance.verdict import Verdict


def scenarios() -> dict:
    return {c.id: c for c in load_scenarios()}


def test_two_runs_make_a_two_column_matrix(tmp_path: Path) -> None:
    cases = scenarios()
    write_results(tmp_path, "python", "python", [
        Verdict("rpc.timeout.error-response", "pass", duration=1.2),
        Verdict("control.echo-to-sender", "skip", "requires control_routing='echo_to_sender'"),
    ], cases, {}, 3.0)
    write_results(tmp_path, "autogen", "autogen", [
        Verdict("rpc.timeout.error-response", "deviation", "no RPC timeout", deviation_status="confirmed", cites="X05"),
        Verdict("registration.basic.ok", "fail", "step 1 (call): expected status OK, got UNKNOWN"),
    ], cases, {"registration.basic.ok": [{"ms": 1.0, "direction": "->", "peer": "w", "stream": "channel", "what": "open", "bytes": None, "message": None}]}, 2.0)
    write_results(tmp_path, "dotnet", "dotnet", [
        Verdict("rpc.timeout.error-response", "deviation", "derived from source, unconfirmed", deviation_status="unconfirmed"),
    ], cases, {}, 1.0)
    (tmp_path / "results-junk.json").write_text("{}")  # ignored, not a results file

    matrix = CompatibilityMatrix.from_report_dir(tmp_path)
    assert sorted(matrix.targets) == ["autogen", "dotnet", "python"]
    markdown = matrix.to_markdown()
    header = next(line for line in markdown.splitlines() if line.startswith("| case"))
    assert "autogen" in header and "python" in header and "dotnet" in header
    row = next(line for line in markdown.splitlines() if line.startswith("| `rpc.timeout.error-response`"))
    assert "✅ pass" in row and "⚠️ deviation (confirmed)" in row and "⚠️ deviation (unconfirmed)" in row
    assert "no RPC timeout" in markdown and "derived from source, unconfirmed" in markdown
    assert "requires control_routing='echo_to_sender'" in markdown  # skip reason
    assert "❌ FAIL" in markdown and "got UNKNOWN" in markdown
    basic = next(line for line in markdown.splitlines() if line.startswith("| `registration.basic.ok`"))
    assert "❌ FAIL [" in basic and "—" in basic  # failed on autogen, not run elsewhere

    page = matrix.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "<link" not in page
    assert 'class="deviation"' in page and 'class="skip"' in page and "no RPC timeout" in page

    md_path, html_path = matrix.write(tmp_path)
    assert md_path.read_text() == markdown and html_path.exists()
    counts = read_results(results_path(tmp_path, "autogen"))["counts"]
    assert counts == {"deviation": 1, "fail": 1}


def test_partial_run_merges_into_existing_results(tmp_path: Path) -> None:
    cases = scenarios()
    write_results(tmp_path, "python", "python", [Verdict("a.one", "pass"), Verdict("a.two", "fail", "x")], cases, {}, 1.0)
    write_results(tmp_path, "python", "python", [Verdict("a.two", "pass")], cases, {}, 1.0, merge=True)
    document = json.loads(results_path(tmp_path, "python").read_text())
    assert {c["case_id"]: c["status"] for c in document["cases"]} == {"a.one": "pass", "a.two": "pass"}
    write_results(tmp_path, "python", "python", [Verdict("a.two", "pass")], cases, {}, 1.0, merge=False)
    document = json.loads(results_path(tmp_path, "python").read_text())
    assert [c["case_id"] for c in document["cases"]] == ["a.two"]


def test_target_names_become_safe_file_names(tmp_path: Path) -> None:
    assert results_path(tmp_path, "container:ghcr.io/x/y:1.0").name == "results-container_ghcr.io_x_y_1.0.json"
    assert results_path(tmp_path, "127.0.0.1:50051").name == "results-127.0.0.1_50051.json"
