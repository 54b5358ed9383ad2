"""``agentrpc record``: a recording proxy in front of a host; writes a replayable scenario on stop.

    agentrpc record --listen 127.0.0.1:50052 --upstream 127.0.0.1:50051 --out scenario.json
                    [--duration S] [--name NAME] [--namespace] [--raw recording.json]
                    [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                    [--upstream-ca PEM] [--upstream-cert PEM --upstream-key PEM] [--upstream-server-name NAME]

Point the workers at --listen instead of the host. Prints ``listening on HOST:PORT`` once bound.
Stops on SIGINT/SIGTERM or after --duration seconds, then writes the scenario (and, with --raw,
every recorded exchange as JSON) and prints a one-line summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from conformance.recorder.proxy import RecordingProxy, ServerTls, UpstreamTls
from conformance.recorder.recording import Recording
from conformance.recorder.scenario_writer import ScenarioWriteError, case_id_for, scenario_from_recording


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentrpc record", description="Record AgentRpc traffic through a proxy into a scenario.")
    parser.add_argument("--listen", required=True, help="HOST:PORT the workers connect to (port 0 picks a free one)")
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the real host")
    parser.add_argument("--out", required=True, type=Path, help="scenario file to write (JSON)")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: until SIGINT/SIGTERM)")
    parser.add_argument("--name", default=None, help="case name: the id becomes recorded.NAME (default: the --out file name)")
    parser.add_argument("--namespace", action="store_true",
                        help="prefix agent types and topic types with ${ns}_ so replays never collide (concurrent cases, repeated runs)")
    parser.add_argument("--raw", type=Path, default=None, help="also write every recorded exchange (base64 bytes) to this JSON file")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve TLS on --listen")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    parser.add_argument("--tls-client-ca", type=Path, help="PEM CA: require client certificates (mutual TLS) on --listen")
    parser.add_argument("--upstream-ca", type=Path, help="PEM CA: reach the upstream over TLS, verified with this CA")
    parser.add_argument("--upstream-cert", type=Path, help="PEM client certificate for a mutual-TLS upstream")
    parser.add_argument("--upstream-key", type=Path, help="PEM client key for --upstream-cert")
    parser.add_argument("--upstream-server-name", help="TLS server name to verify on the upstream")
    return parser


class RecordOptionsError(ValueError):
    """Inconsistent command-line options; the message says which."""


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def tls_options(args: argparse.Namespace) -> tuple[ServerTls | None, UpstreamTls | None]:
    server = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise RecordOptionsError("--tls-cert and --tls-key go together")
        server = ServerTls(args.tls_cert.read_bytes(), args.tls_key.read_bytes(), _read(args.tls_client_ca))
    elif args.tls_client_ca:
        raise RecordOptionsError("--tls-client-ca needs --tls-cert and --tls-key")
    upstream = None
    if any((args.upstream_ca, args.upstream_cert, args.upstream_key, args.upstream_server_name)):
        if bool(args.upstream_cert) != bool(args.upstream_key):
            raise RecordOptionsError("--upstream-cert and --upstream-key go together")
        upstream = UpstreamTls(
            root_certificates=_read(args.upstream_ca), certificate_chain=_read(args.upstream_cert),
            private_key=_read(args.upstream_key), server_name_override=args.upstream_server_name,
        )
    return server, upstream


async def record(args: argparse.Namespace) -> Recording:
    server_tls, upstream_tls = tls_options(args)
    proxy = RecordingProxy(args.listen, args.upstream, server_tls=server_tls, upstream_tls=upstream_tls)
    address = await proxy.start()
    print(f"listening on {address}", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await asyncio.wait_for(stop.wait(), timeout=args.duration)
        except asyncio.TimeoutError:
            pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        recording = await proxy.stop()
    return recording


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        recording = asyncio.run(record(args))
    except (RecordOptionsError, OSError) as error:
        print(f"agentrpc record: {error}", file=sys.stderr)
        return 2
    if args.raw is not None:
        args.raw.write_text(json.dumps(recording.to_json(), indent=1) + "\n", encoding="utf-8")
    try:
        document = scenario_from_recording(recording, case_id=case_id_for(args.name or args.out.stem), namespace=args.namespace)
    except ScenarioWriteError as error:
        print(f"agentrpc record: no scenario written: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"recorded {len(recording.exchanges)} exchanges from {len(document['peers'])} peer(s): wrote {args.out} ({document['id']}, {len(document['steps'])} steps)")
    return 0
