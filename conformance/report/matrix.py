"""CompatibilityMatrix: case x target, merged from every results-*.json in a report directory."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.report.results import read_results

SYMBOLS = {"pass": "pass", "fail": "FAIL", "deviation": "deviation", "skip": "skipped"}
MARKS = {"pass": "✅", "fail": "❌", "deviation": "⚠️", "skip": "⏭️"}


@dataclass(frozen=True)
class Cell:
    status: str
    detail: str = ""
    deviation_status: str | None = None

    def label(self) -> str:
        text = f"{MARKS[self.status]} {SYMBOLS[self.status]}"
        if self.status == "deviation":
            text += f" ({self.deviation_status or 'confirmed'})"
        elif self.status == "skip" and self.deviation_status:
            text += f" (deviation listed, {self.deviation_status})"
        return text


@dataclass
class CompatibilityMatrix:
    """Rows are case ids, columns are targets (one per results file)."""

    targets: list[str] = field(default_factory=list)
    finished: dict[str, str] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    @classmethod
    def from_report_dir(cls, report_dir: Path) -> "CompatibilityMatrix":
        matrix = cls()
        for path in sorted(report_dir.glob("results-*.json")):
            try:
                matrix.add(read_results(path))
            except (ValueError, OSError):
                continue  # not ours or unreadable: the matrix shows what it can
        return matrix

    def add(self, document: dict[str, Any]) -> None:
        target = document["target"]
        if target not in self.targets:
            self.targets.append(target)
        self.finished[target] = document.get("finished", "")
        for case in document["cases"]:
            self.levels.setdefault(case["case_id"], case.get("level", ""))
            self.cells[(case["case_id"], target)] = Cell(case["status"], case.get("detail", ""), case.get("deviation_status"))

    @property
    def case_ids(self) -> list[str]:
        return sorted(self.levels)

    def counts(self, target: str) -> dict[str, int]:
        out = {k: 0 for k in SYMBOLS}
        for (case, column), cell in self.cells.items():
            if column == target:
                out[cell.status] += 1
        return out

    def summary_lines(self) -> list[str]:
        """One line per target: counts by status."""
        lines = []
        for target in self.targets:
            counts = self.counts(target)
            lines.append(
                f"{target:<24} pass {counts['pass']:>3}  fail {counts['fail']:>3}  "
                f"known deviation {counts['deviation']:>3}  skipped {counts['skip']:>3}   ({self.finished.get(target, '')})"
            )
        return lines

    def area_lines(self) -> list[str]:
        """A compact Markdown table: protocol area (first id component) x target, counts per status."""
        areas = sorted({case.split(".")[0] for case in self.case_ids})
        lines = ["| area | " + " | ".join(self.targets) + " |", "|---|" + "---|" * len(self.targets)]
        for area in areas:
            row = [area]
            for target in self.targets:
                counts = {k: 0 for k in SYMBOLS}
                for case in self.case_ids:
                    cell = self.cells.get((case, target))
                    if cell is not None and case.split(".")[0] == area:
                        counts[cell.status] += 1
                parts = [f"{counts[k]} {MARKS[k]}" for k in ("pass", "fail", "deviation", "skip") if counts[k]]
                row.append(" ".join(parts) or "—")
            lines.append("| " + " | ".join(row) + " |")
        return lines

    def to_markdown(self) -> str:
        """The matrix with reasons as numbered notes under the table."""
        notes: list[str] = []
        header = "| case | level | " + " | ".join(self.targets) + " |"
        lines = [
            "# Compatibility matrix",
            "",
            "Each cell: ✅ pass · ❌ fail · ⚠️ known deviation (reason; confirmed = observed, unconfirmed = "
            "derived from source) · ⏭️ skipped (the target's profile lacks a required capability).",
            "",
            "Runs: " + ", ".join(f"`{t}` {self.finished.get(t, '')}" for t in self.targets),
            "",
            header,
            "|" + "---|" * (len(self.targets) + 2),
        ]
        for case in self.case_ids:
            row = [f"`{case}`", self.levels.get(case, "")]
            for target in self.targets:
                cell = self.cells.get((case, target))
                if cell is None:
                    row.append("—")
                    continue
                text = cell.label()
                if cell.detail and cell.status != "pass":
                    notes.append(f"{target} / `{case}`: {_one_line(cell.detail)}")
                    text += f" [{len(notes)}]"
                row.append(text)
            lines.append("| " + " | ".join(row) + " |")
        if notes:
            lines += ["", "## Notes", ""] + [f"{i}. {note}" for i, note in enumerate(notes, 1)]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A standalone page (inline CSS, no scripts)."""
        style = (
            "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:13px}"
            "td.pass{background:#e6f6e6}td.fail{background:#fbe0e0}td.deviation{background:#fff4d6}"
            "td.skip{background:#eee}small{display:block;color:#555;max-width:28em}code{font-size:12px}"
        )
        rows = []
        for case in self.case_ids:
            cells = [f"<td><code>{html.escape(case)}</code></td><td>{html.escape(self.levels.get(case, ''))}</td>"]
            for target in self.targets:
                cell = self.cells.get((case, target))
                if cell is None:
                    cells.append("<td>—</td>")
                    continue
                detail = "" if cell.status == "pass" else f"<small>{html.escape(_one_line(cell.detail, 300))}</small>"
                cells.append(f'<td class="{cell.status}">{html.escape(cell.label())}{detail}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        head = "".join(f"<th>{html.escape(t)}<br><small>{html.escape(self.finished.get(t, ''))}</small></th>" for t in self.targets)
        summary = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in self.summary_lines())
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>AgentRpc compatibility matrix</title>"
            f"<style>{style}</style></head><body><h1>AgentRpc compatibility matrix</h1><ul>{summary}</ul>"
            f"<table><tr><th>case</th><th>level</th>{head}</tr>{''.join(rows)}</table></body></html>\n"
        )

    def write(self, report_dir: Path) -> tuple[Path, Path]:
        """Write compatibility.md and compatibility.html; return their paths."""
        report_dir.mkdir(parents=True, exist_ok=True)
        markdown, page = report_dir / "compatibility.md", report_dir / "compatibility.html"
        markdown.write_text(self.to_markdown(), encoding="utf-8")
        page.write_text(self.to_html(), encoding="utf-8")
        return markdown, page


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
