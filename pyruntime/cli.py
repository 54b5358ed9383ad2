"""The ``agentrpc`` command line.

Each subcommand lives in its own module, exposing ``main(argv: list[str]) -> int``, and
is imported only when used, so ``agentrpc host`` never pays for the conformance suite's
imports (and vice versa).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Subcommand:
    module: str
    summary: str


SUBCOMMANDS: dict[str, Subcommand] = {
    "host": Subcommand("pyruntime.host.command", "run an AgentRpc host"),
    "worker": Subcommand("pyruntime.worker.command", "run a worker hosting agents from module:factory"),
    "demo": Subcommand("pyruntime.demo.command", "a host + worker processes running a scripted group chat"),
    "conform": Subcommand("conformance.command", "run the installed conformance suite against a target"),
    "fixtures": Subcommand("conformance.golden.command", "generate or check the golden wire fixtures"),
    "record": Subcommand("conformance.recorder.command", "record live AgentRpc traffic into a scenario"),
    "bench": Subcommand("benchmarks.__main__", "the benchmark harness (python -m benchmarks), from a source checkout"),
}


class SourceCheckoutRequired(RuntimeError):
    """The command needs a directory of the repository that is not installed with the package."""


def _find_benchmarks() -> None:
    """Make the repository's ``benchmarks/`` importable, or say where to run from.

    The harness is not installed with the package: it needs the repository (its stacks, the
    autogen-ext peer, ``benchmarks/results``) and a top-level ``benchmarks`` package would be a bad
    neighbour in site-packages. Run from the repository root, as ``python -m benchmarks`` does.
    """
    if importlib.util.find_spec("benchmarks") is not None:
        return
    root = Path.cwd()
    if (root / "benchmarks" / "__main__.py").is_file():
        sys.path.insert(0, str(root))
        return
    raise SourceCheckoutRequired(
        "agentrpc bench runs the harness in benchmarks/ of a source checkout: cd to the repository root "
        "(where benchmarks/__main__.py is) and run it again, or run 'python -m benchmarks' there"
    )


def _usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    lines = ["usage: agentrpc <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {cmd.summary}" for name, cmd in SUBCOMMANDS.items()]
    lines += ["", "Run 'agentrpc <command> --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    command = SUBCOMMANDS.get(name)
    if command is None:
        print(f"agentrpc: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    if name == "bench":
        try:
            _find_benchmarks()
        except SourceCheckoutRequired as error:
            print(f"agentrpc: {error}", file=sys.stderr)
            return 2
    module = importlib.import_module(command.module)
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
