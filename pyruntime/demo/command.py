"""``agentrpc demo``: a host and worker processes running a scripted group chat.

    agentrpc demo [--rounds N] [--with-autogen]

Starts ``agentrpc host`` on a free port, then one ``agentrpc worker`` process each for the
writer, the editor and the group chat manager, and runs the UI agent in this process,
printing the conversation. ``--with-autogen`` runs the editor on autogen-ext's
GrpcWorkerAgentRuntime instead. Everything stops by itself; exit 0 when the scripted
conversation completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pyruntime.event_loop import run
from pyruntime.model import AgentId
from pyruntime.worker.errors import AgentRuntimeError
from pyruntime.worker.grpc_runtime import GrpcWorkerRuntime

from .agents import register_ui
from .messages import SESSION, ChatFinished, StartChat
from .processes import ChildProcessError, ProcessGroup

WORKER_READY = r"worker connected to "


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentrpc demo", description="A scripted group chat across worker processes.")
    parser.add_argument("--rounds", type=int, default=3, help="writer/editor rounds (default %(default)s)")
    parser.add_argument("--with-autogen", action="store_true", help="run the editor on autogen-ext's worker runtime")
    parser.add_argument("--payload-format", choices=["auto", "json", "protobuf"], default="auto",
                        help="payload format of the pyruntime workers (dataclasses always travel as JSON)")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds (default %(default)s)")
    return parser


def _worker_argv(address: str, factory: str, payload_format: str) -> list[str]:
    return [sys.executable, "-m", "pyruntime.cli", "worker", "--host", address,
            "--agents", f"pyruntime.demo.agents:{factory}", "--payload-format", payload_format]


async def run_demo(rounds: int, with_autogen: bool, payload_format: str, timeout: float) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with ProcessGroup() as processes:
        match = await processes.start(
            "host", [sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0", "--log-level", "WARNING"],
            ready=r"listening on (\S+)",
        )
        address = match.group(1)
        print(f"host listening on {address}", flush=True)
        editor = (
            ("editor (autogen-ext)", [sys.executable, "-m", "pyruntime.demo.autogen_editor", address], r"autogen worker connected")
            if with_autogen
            else ("editor", _worker_argv(address, "register_editor", payload_format), WORKER_READY)
        )
        starts = [
            ("writer", _worker_argv(address, "register_writer", payload_format), WORKER_READY),
            editor,
            ("manager", _worker_argv(address, "register_manager", payload_format), WORKER_READY),
        ]
        # Every child is started before this process opens its own gRPC channel: forking while
        # gRPC's threads run is unsafe (grpcio skips its fork handlers; a child crashed once).
        await asyncio.gather(*(processes.start(name, argv, ready) for name, argv, ready in starts))
        print("workers: " + ", ".join(name for name, _, _ in starts), flush=True)
        finished: asyncio.Future[ChatFinished] = loop.create_future()
        ui = GrpcWorkerRuntime(address, payload_format=payload_format)
        await register_ui(ui, lambda line: print(line, flush=True), finished)
        async with ui:
            print(f"starting a {rounds}-round chat", flush=True)
            accepted = await ui.send_message(StartChat(rounds=rounds), AgentId("manager", SESSION))
            if accepted.speakers != ["writer", "editor"]:
                print(f"unexpected speakers {accepted.speakers}", flush=True)
                return 1
            result = await asyncio.wait_for(finished, max(0.1, deadline - loop.time()))
        expected = 2 * rounds
        if result.messages != expected:
            print(f"conversation incomplete: {result.messages} of {expected} messages", flush=True)
            return 1
        print(f"conversation complete: {result.rounds} rounds, {result.messages} messages", flush=True)
        return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.rounds < 1:
        print("agentrpc demo: --rounds must be at least 1", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    try:
        return run(run_demo(args.rounds, args.with_autogen, args.payload_format, args.timeout))
    except asyncio.TimeoutError:
        print(f"agentrpc demo: the conversation did not finish within {args.timeout:g} s", file=sys.stderr)
    except (ChildProcessError, AgentRuntimeError) as exc:
        print(f"agentrpc demo: {exc}", file=sys.stderr)
    return 1
