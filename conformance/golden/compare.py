"""Differences between a rendered fixture pack and a directory on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PackDifference:
    """What a directory lacks, has in excess, or holds with other bytes than the rendered pack."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.changed)

    def lines(self) -> list[str]:
        return (
            [f"missing:    {path}" for path in self.missing]
            + [f"unexpected: {path}" for path in self.unexpected]
            + [f"changed:    {path}" for path in self.changed]
        )


def files_under(root: Path) -> set[str]:
    """Relative posix paths of every regular file below ``root``."""
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def compare_pack(expected: dict[str, bytes], root: Path) -> PackDifference:
    present = files_under(root) if root.is_dir() else set()
    difference = PackDifference(missing=sorted(expected.keys() - present), unexpected=sorted(present - expected.keys()))
    difference.changed = sorted(path for path in expected.keys() & present if (root / path).read_bytes() != expected[path])
    return difference
