"""``agentrpc host``: run an AgentRpc host until SIGINT/SIGTERM.

Prints exactly one line ``listening on HOST:PORT`` on stdout once it accepts calls (tools
parse it); logs go to stderr. On SIGINT or SIGTERM it drains and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from pyruntime.event_loop import EVENT_LOOP_CHOICES, EventLoopUnavailableError, run
from pyruntime.host.log_format import JsonLogFormatter
from pyruntime.host.options import HostConfigError, HostOptions
from pyruntime.host.routing import TYPE_POLICIES
from pyruntime.host.server import AgentRpcHost, HostStartError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentrpc host", description="Run an AgentRpc host (hub) for AutoGen workers.")
    parser.add_argument("--address", default="127.0.0.1:50051", help="HOST:PORT to listen on; port 0 picks a free one")
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve TLS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates it signed (mutual TLS)")
    parser.add_argument("--auth-token-file",
                        help="file of accepted bearer tokens, one per line: every call must send "
                             "'authorization: Bearer <token>' (use with TLS)")
    parser.add_argument("--bind-client-ids", action="store_true",
                        help="bind each client-id to the certificate or token that first used it (needs mTLS or tokens)")
    parser.add_argument("--tenant-namespaces", action="store_true",
                        help="mutual TLS only: a client certificate's CN names a tenant confined to names '<CN>.*'")
    parser.add_argument("--max-message-bytes", type=int, default=HostOptions.max_message_bytes,
                        help="largest message the host forwards (default %(default)s)")
    parser.add_argument("--rpc-timeout", type=float, default=HostOptions.rpc_timeout,
                        help="seconds before an unanswered RPC gets an error response (default %(default)s)")
    parser.add_argument("--type-policy", choices=TYPE_POLICIES, default="unique",
                        help="unique: one client per agent type; shared: several, RPCs round-robin (default unique)")
    parser.add_argument("--registration-grace", type=float, default=HostOptions.registration_grace,
                        help="seconds a client's registrations survive without a data stream (default %(default)s)")
    parser.add_argument("--shutdown-grace", type=float, default=HostOptions.shutdown_grace,
                        help="seconds to drain on SIGINT/SIGTERM (default %(default)s)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument(
        "--event-loop", choices=list(EVENT_LOOP_CHOICES), default=None,
        help="event loop: uvloop when installed (auto, the default; also $AGENTRPC_EVENT_LOOP) or asyncio's own",
    )
    parser.add_argument("--log-format", default="text", choices=["text", "json"],
                        help="json: one object per line with client, agent_type, topic_type, topic_source fields")
    return parser


async def serve(options: HostOptions, address: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with AgentRpcHost(address, options) as host:
            print(f"listening on {host.address}", flush=True)
            await stop.wait()
            logging.getLogger("pyruntime.host").info("signal received: draining")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    if args.log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=getattr(logging, args.log_level), handlers=[handler])
    try:
        interceptors = []
        if args.auth_token_file:
            # Imported only when asked for: the token check lives with the other security code.
            from pyruntime.security.tokens import BearerTokenInterceptor, TokenFileError, load_token_file

            try:
                interceptors.append(BearerTokenInterceptor(load_token_file(args.auth_token_file)))
            except TokenFileError as error:
                raise HostConfigError(str(error)) from error
        if args.bind_client_ids:
            from pyruntime.security import ClientIdGuard

            interceptors.append(ClientIdGuard())
        if args.tenant_namespaces:
            if not args.tls_client_ca:
                raise HostConfigError("--tenant-namespaces needs mutual TLS (--tls-client-ca): tenants are named by their certificates")
            from pyruntime.security import TenantNamespaceGuard

            interceptors.append(TenantNamespaceGuard())
        options = HostOptions(
            max_message_bytes=args.max_message_bytes,
            rpc_timeout=args.rpc_timeout,
            type_policy=args.type_policy,
            registration_grace=args.registration_grace,
            shutdown_grace=args.shutdown_grace,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_client_ca=args.tls_client_ca,
            interceptors=tuple(interceptors),
        )
        run(serve(options, args.address), event_loop=args.event_loop)
    except (HostConfigError, HostStartError, EventLoopUnavailableError) as error:
        print(f"agentrpc host: {error}", file=sys.stderr)
        return 2
    return 0
