"""Regenerate (or check) the Python code for the AgentRpc contracts.

Usage (from a checkout, in the project's virtualenv):

    python -m pyruntime._proto._generate          # rewrite pyruntime/_proto/*_pb2*.py[i]
    python -m pyruntime._proto._generate --check  # exit 1 if the committed code is stale

The code is generated with the grpcio-tools release pinned in pyproject's ``test`` extra
(1.70.0, protobuf 5.29 gencode). That gencode loads on protobuf 5.29 and on current
releases alike, whereas gencode from a newer grpcio-tools refuses older runtimes. So
regenerating with another grpcio-tools version is refused rather than silently producing
code that breaks the autogen-ext environment.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

PINNED_GRPCIO_TOOLS = "1.70.0"
PROTO_FILES = ("cloudevent.proto", "agent_worker.proto")
PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_PROTO_DIR = PACKAGE_DIR.parent.parent / "protos"

# protoc writes absolute imports of sibling modules (``import cloudevent_pb2``); inside a
# package those must be relative, or they would resolve to whatever top-level module of that
# name happens to be on sys.path.
_SIBLING_IMPORT = re.compile(r"^import (\w+_pb2(?:_grpc)?) as (\w+)$", re.MULTILINE)


class GeneratorVersionError(RuntimeError):
    """The installed grpcio-tools is not the pinned generator version."""


def installed_generator_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("grpcio-tools")
    except Exception:
        return None


def generate(proto_dir: Path, out_dir: Path) -> list[Path]:
    """Run protoc for both contracts into ``out_dir`` and make sibling imports relative."""
    from grpc_tools import protoc  # imported lazily: a build-time dependency only

    import grpc_tools

    include = Path(grpc_tools.__file__).resolve().parent / "_proto"
    args = [
        "protoc",
        f"-I{proto_dir}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(proto_dir / name) for name in PROTO_FILES],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {proto_dir}")
    written = []
    for path in sorted(out_dir.glob("*_pb2*.py*")):
        text = path.read_text()
        text = _SIBLING_IMPORT.sub(r"from . import \1 as \2", text)
        path.write_text(text)
        written.append(path)
    return written


def _generated_files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.glob("*_pb2*.py*"))}


def stale_files(proto_dir: Path = DEFAULT_PROTO_DIR, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Names of generated files that differ from a fresh generation (empty list = current)."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(proto_dir, Path(tmp))
        fresh = _generated_files(Path(tmp))
    committed = _generated_files(package_dir)
    return sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report whether the committed code is stale")
    parser.add_argument("--proto-dir", type=Path, default=DEFAULT_PROTO_DIR)
    args = parser.parse_args(argv)
    found = installed_generator_version()
    if found != PINNED_GRPCIO_TOOLS:
        print(
            f"grpcio-tools {PINNED_GRPCIO_TOOLS} is required to (re)generate pyruntime/_proto, found {found}. "
            f"Run inside the project's .venv (python3 dev.py setup).",
            file=sys.stderr,
        )
        return 2
    if args.check:
        stale = stale_files(args.proto_dir)
        if stale:
            print("stale generated code: " + ", ".join(stale) + " (run: python -m pyruntime._proto._generate)")
            return 1
        print("generated code is current")
        return 0
    for path in generate(args.proto_dir, PACKAGE_DIR):
        print(f"wrote {path.relative_to(PACKAGE_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
