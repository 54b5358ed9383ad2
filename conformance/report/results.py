"""The results JSON file of one run against one target (``results-<target>.json`` in the report dir)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from conformance.engine.scenario import Scenario
from conformance.verdict import Verdict

FORMAT_VERSION = 1


def safe_name(target: str) -> str:
    """A file-name-safe form of a --target value."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", target).strip("_") or "target"


def results_path(report_dir: Path, target: str) -> Path:
    return report_dir / f"results-{safe_name(target)}.json"


def write_results(
    report_dir: Path,
    target: str,
    profile_name: str,
    verdicts: list[Verdict],
    scenarios: dict[str, Scenario],
    traces: dict[str, list[dict[str, Any]]],
    duration: float,
    merge: bool = False,
) -> Path:
    """Write the results file and return its path.

    ``merge`` (a partial run: --case, -k, --level, --payload-format) updates only this run's cases in an
    existing file, so rerunning one case does not shrink the matrix.
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for verdict in sorted(verdicts, key=lambda v: v.case_id):
        scenario = scenarios.get(verdict.case_id)
        entry: dict[str, Any] = asdict(verdict)
        entry["duration"] = round(verdict.duration, 4)
        if scenario is not None:
            entry.update(level=scenario.level, tags=list(scenario.tags), title=scenario.title)
        if verdict.case_id in traces:
            entry["trace"] = traces[verdict.case_id]
        cases.append(entry)
    path = results_path(report_dir, target)
    if merge and path.exists():
        try:
            kept = {c["case_id"]: c for c in read_results(path)["cases"]}
        except (ValueError, OSError):
            kept = {}
        kept.update({c["case_id"]: c for c in cases})
        cases = [kept[k] for k in sorted(kept)]
    counts: dict[str, int] = {}
    for case in cases:
        counts[case["status"]] = counts.get(case["status"], 0) + 1
    document = {
        "format": FORMAT_VERSION,
        "target": target,
        "profile": profile_name,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration": round(duration, 3),
        "counts": counts,
        "cases": cases,
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=False), encoding="utf-8")
    return path


def read_results(path: Path) -> dict[str, Any]:
    """Load one results file (raises ValueError if it is not one)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION or "cases" not in document:
        raise ValueError(f"{path} is not a conformance results file (format {FORMAT_VERSION})")
    return document
