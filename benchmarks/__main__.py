"""``python -m benchmarks run [--reps 3] [--size full|tiny] [--stacks ...] [--configs ...] [--out DIR]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmarks.configs import select_configs
from benchmarks.orchestrator import CellResult
from benchmarks.profiling import write_summary
from benchmarks.report import pool, write_all
from benchmarks.runner import run_benchmark
from benchmarks.stacks import DEFAULT_STACKS, STACKS


def _progress(cell: CellResult) -> None:
    value = f"{cell.value:,.0f}/s" if cell.value is not None else "-"
    extra = f" p50 {cell.p50_ms:.3f} ms" if cell.p50_ms is not None else ""
    problem = f"  [{cell.error}]" if cell.error else ""
    print(f"rep {cell.rep} {cell.stack:<18} {cell.config:<26} {cell.status:<9} {value}{extra}{problem}", flush=True)


def build_parser() -> argparse.ArgumentParser:
    # The same harness answers to both spellings; usage lines name the one that was typed.
    prog = "agentrpc bench" if Path(sys.argv[0]).name == "agentrpc" else "python -m benchmarks"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the benchmark and write results.json/.md/.png")
    run.add_argument("--reps", type=int, default=3, help="repetitions per cell (default 3)")
    run.add_argument("--size", choices=["full", "tiny"], default="full", help="message counts (tiny = smoke test)")
    run.add_argument("--stacks", nargs="+", default=DEFAULT_STACKS, choices=list(STACKS), metavar="STACK",
                     help=f"stacks to run (default: {' '.join(DEFAULT_STACKS)}; diagnostic: ours-host+raw)")
    run.add_argument("--configs", nargs="+", metavar="PATTERN",
                     help="only configurations whose name has all words of a pattern, e.g. 'pubsub json' 'seq 64KiB'")
    run.add_argument("--out", type=Path, default=Path("reports/bench"), help="output directory (default reports/bench)")
    run.add_argument("--profile", type=Path, metavar="DIR",
                     help="attach py-spy to every process and write DIR/hotspots.md (slows the run; not for results)")
    run.add_argument("--profile-native", action="store_true",
                     help="with --profile: also sample native frames (grpc's Cython core); blocking sampling")
    again = sub.add_parser("report", help="re-render results.md/.png from saved results.json file(s)")
    again.add_argument("results", type=Path, nargs="+",
                       help="results.json written by 'run'; several: one report with their repetitions pooled")
    again.add_argument("--out", type=Path, help="output directory (default: the (first) results file's directory)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    if args.command == "report":
        out = args.out or args.results[0].parent
        if len(args.results) > 1 and args.out is None:
            print("benchmarks: pooling several runs needs --out (their own directories stay as they are)", file=sys.stderr)
            return 2
        pool(args.results, out)
        print(f"wrote {out}/results.json, results.md, results.png")
        return 0
    try:
        configs = select_configs(args.configs)
    except ValueError as error:
        print(f"benchmarks: {error}", file=sys.stderr)
        return 2
    outcome = run_benchmark(stacks=args.stacks, configs=configs, reps=args.reps, size=args.size,
                            progress=_progress, profile_dir=args.profile,
                            profile_native=args.profile_native)
    write_all(args.out, outcome.meta, configs, args.stacks, outcome.cells)
    if args.profile is not None:
        summary = write_summary(args.profile)
        print(f"profile: {summary or 'no samples recorded'}")
    print(f"wrote {args.out}/results.json, results.md, results.png ({outcome.meta['seconds']} s)")
    return 0 if all(c.status == "ok" for c in outcome.cells) else 1


if __name__ == "__main__":
    sys.exit(main())
