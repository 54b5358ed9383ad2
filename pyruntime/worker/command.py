"""``agentrpc worker``: host agents from ``module:factory`` specs on a GrpcWorkerRuntime.

The factory contract: ``module:factory`` names a callable taking the runtime,
``def factory(runtime: AgentRuntime) -> None | Awaitable[None]``, that registers agent types
and subscriptions (typically ``await MyAgent.register(runtime, "my_type")``). It runs before
the worker connects, so everything it registers is sent to the host in one go.

Prints ``worker connected to ADDR client-id ID`` once connected; runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import sys
from pathlib import Path
from typing import Any, Callable

from ..event_loop import EVENT_LOOP_CHOICES, EventLoopUnavailableError, run
from ..security.tls import ClientTls, TlsSettings
from .errors import HostConnectionLost
from .grpc_runtime import GrpcWorkerRuntime


class FactorySpecError(ValueError):
    """A ``--agents`` value does not name an importable callable."""


def load_factory(spec: str) -> Callable[[Any], Any]:
    """Import ``module:attribute`` (the attribute may be dotted) and check it is callable."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise FactorySpecError(f"--agents {spec!r}: expected 'module:factory', e.g. 'myapp.agents:register'")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise FactorySpecError(f"--agents {spec!r}: cannot import {module_name!r} ({exc})") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise FactorySpecError(f"--agents {spec!r}: {module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise FactorySpecError(f"--agents {spec!r}: {attribute!r} is not callable")
    return target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentrpc worker",
        description="Run a worker that hosts agents and connects to an AgentRpc host.",
        epilog="A factory is 'def register(runtime) -> None | Awaitable[None]' that registers agent types.",
    )
    parser.add_argument("--host", required=True, help="host address HOST:PORT (http:// or https:// allowed)")
    parser.add_argument("--agents", action="append", required=True, metavar="MODULE:FACTORY",
                        help="a factory that registers agents on the runtime (repeatable)")
    parser.add_argument("--payload-format", choices=["auto", "json", "protobuf"], default="auto",
                        help="auto: protobuf messages as protobuf, the rest as JSON (default); json: protobuf "
                             "messages as proto3 JSON too; types without the chosen format use their own")
    parser.add_argument("--rpc-timeout", type=float, default=30.0, help="default send_message timeout in seconds")
    parser.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for the first connection")
    parser.add_argument("--tls-ca", type=Path, help="PEM CA bundle: connect with TLS and trust these roots")
    parser.add_argument("--tls-cert", type=Path, help="PEM client certificate chain (mutual TLS)")
    parser.add_argument("--tls-key", type=Path, help="PEM client private key (mutual TLS)")
    parser.add_argument("--tls-server-name", help="check the host's certificate against this name instead of the address")
    parser.add_argument("--auth-token-file", type=Path,
                        help="file whose first token is sent as 'authorization: Bearer <token>' (use with TLS)")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument(
        "--event-loop", choices=list(EVENT_LOOP_CHOICES), default=None,
        help="event loop: uvloop when installed (auto, the default; also $AGENTRPC_EVENT_LOOP) or asyncio's own",
    )
    return parser


def _tls_from(args: argparse.Namespace) -> TlsSettings | None:
    if not (args.tls_ca or args.tls_cert or args.tls_key or args.tls_server_name):
        return None
    return ClientTls(args.tls_ca, args.tls_cert, args.tls_key, args.tls_server_name).load()


def _metadata_from(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    if args.auth_token_file is None:
        return ()
    from pyruntime.security.tokens import bearer_metadata, load_token_file

    return bearer_metadata(load_token_file(args.auth_token_file)[0])


async def run_worker(args: argparse.Namespace, factories: list[Callable[[Any], Any]]) -> int:
    runtime = GrpcWorkerRuntime(
        args.host,
        payload_format=args.payload_format,
        rpc_timeout=args.rpc_timeout,
        connect_timeout=args.connect_timeout,
        tls=_tls_from(args),
        metadata=_metadata_from(args),
    )
    for factory in factories:
        result = factory(runtime)
        if inspect.isawaitable(result):
            await result
    try:
        await runtime.start()
    except HostConnectionLost as exc:
        print(f"agentrpc worker: {exc}", file=sys.stderr)
        return 1
    print(f"worker connected to {args.host} client-id {runtime.client_id}", flush=True)
    try:
        await runtime.stop_when_signal()
    finally:
        await runtime.stop()
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        factories = [load_factory(spec) for spec in args.agents]
        _metadata_from(args)  # a bad token file is a usage error, reported before connecting
    except (FactorySpecError, ValueError) as exc:
        print(f"agentrpc worker: {exc}", file=sys.stderr)
        return 2
    try:
        return run(run_worker(args, factories), event_loop=args.event_loop)
    except EventLoopUnavailableError as exc:
        print(f"agentrpc worker: {exc}", file=sys.stderr)
        return 2
