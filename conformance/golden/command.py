"""``agentrpc fixtures``: generate or check the golden wire fixtures.

    agentrpc fixtures generate [--out fixtures/golden]
    agentrpc fixtures check    [--dir fixtures/golden]

``generate`` writes the pack and removes files of an older pack that are no longer part of it
(it refuses to touch a non-empty directory that holds no manifest.json). ``check`` renders the
pack into a temporary directory, compares it byte for byte with the directory, prints every
difference and exits 1 when the committed fixtures are stale.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from conformance.golden.compare import compare_pack, files_under
from conformance.golden.pack import MANIFEST, render_pack

DEFAULT_DIR = Path("fixtures/golden")


class UnsafeOutputDirectory(Exception):
    """The output directory holds files that are not a fixture pack; nothing was written."""


def write_pack(files: dict[str, bytes], out: Path) -> None:
    """Write ``files`` below ``out`` and delete files of an earlier pack that are not in ``files``."""
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise UnsafeOutputDirectory(
            f"{out} is not empty and has no {MANIFEST}: refusing to overwrite it; choose an empty or a fixture directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(files_under(out) - files.keys()):
        (out / stale).unlink()
    for path, data in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def _generate(out: Path) -> int:
    files = render_pack()
    try:
        write_pack(files, out)
    except UnsafeOutputDirectory as error:
        print(f"agentrpc fixtures: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(files)} files ({sum(map(len, files.values()))} bytes) to {out}")
    return 0


def _check(directory: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="agentrpc-fixtures-") as scratch:
        # Render through the same writer as `generate`, so the check also covers writing.
        regenerated = Path(scratch) / "golden"
        write_pack(render_pack(), regenerated)
        expected = {path: (regenerated / path).read_bytes() for path in files_under(regenerated)}
    difference = compare_pack(expected, directory)
    if difference.clean:
        print(f"{directory}: {len(expected)} files, all current")
        return 0
    print(f"{directory} is stale; run: agentrpc fixtures generate --out {directory}", file=sys.stderr)
    for line in difference.lines():
        print(f"  {line}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="agentrpc fixtures", description="Generate or check the golden wire fixtures.")
    sub = parser.add_subparsers(dest="action", required=True)
    generate = sub.add_parser("generate", help="write the fixture pack (deterministic)")
    generate.add_argument("--out", type=Path, default=DEFAULT_DIR, help=f"output directory (default {DEFAULT_DIR})")
    check = sub.add_parser("check", help="exit 1 when a directory differs from a fresh render")
    check.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"directory to check (default {DEFAULT_DIR})")
    args = parser.parse_args(argv)
    if args.action == "generate":
        return _generate(args.out)
    return _check(args.dir)
