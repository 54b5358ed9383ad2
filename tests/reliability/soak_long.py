"""The long soak: ``python -m tests.reliability.soak_long --events 100000``.

Starts ``agentrpc host`` as a subprocess (so its memory is measured alone), pushes the
events through it to 4 subscribers on 2 workers (raw gRPC clients, or with ``--runtime``
GrpcWorkerRuntime agents), and prints one result line plus JSON:
lost / duplicated / out-of-order counts, time, throughput and the host's RSS (sampled
every 100 ms, and its kernel-reported peak VmHWM). Exits 0 only when nothing was lost,
duplicated or reordered. ``--target HOST:PORT`` soaks a host that is already running
(its memory is then not measured).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import grpc

from pyruntime.security import ClientTls, secure_channel
from tests.reliability.runtime_soak import run_runtime_soak
from tests.reliability.soak import SoakConfig, run_soak

CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]


def read_status_kb(pid: int, field: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM); None when unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def start_host(extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0", "--log-level", "WARNING", *extra],
        stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # "listening on HOST:PORT", printed once it serves
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"the host did not start (first line: {line!r})")
    return process, line.split()[-1]


def channel_factory(address: str, tls: ClientTls | None) -> Callable[[], grpc.aio.Channel]:
    if tls is None:
        return lambda: grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
    return lambda: secure_channel(address, tls, options=CHANNEL_OPTIONS)


async def soak(args: argparse.Namespace) -> dict[str, object]:
    process = None
    address = args.target
    tls: ClientTls | None = None
    host_args = list(args.host_arg or [])
    if args.mtls:
        from pyruntime.security.certs import write_test_pki

        pki = write_test_pki(tempfile.mkdtemp(prefix="agentrpc-soak-pki-"))
        host_args += ["--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key),
                      "--tls-client-ca", str(pki.ca.cert)]
        tls = ClientTls(ca_cert=pki.ca.cert, client_cert=pki.client.cert, client_key=pki.client.key)
    if address is None:
        process, address = start_host(host_args)
    rss_samples: list[int] = []

    async def sample_rss() -> None:
        while True:
            if process is not None and (rss := read_status_kb(process.pid, "VmRSS")) is not None:
                rss_samples.append(rss)
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample_rss(), name="rss-sampler")
    try:
        rss_before = read_status_kb(process.pid, "VmRSS") if process is not None else None
        config = SoakConfig(
            events=args.events, publishers=args.publishers, payload_bytes=args.payload_bytes, timeout=args.timeout,
            slow_every=args.slow_every, slow_pause=args.slow_pause,
        )
        if args.runtime:
            if tls is not None:
                raise SystemExit("--runtime with --mtls is not supported by this script; use one of them")
            result = await run_runtime_soak(address, config)
        else:
            result = await run_soak(channel_factory(address, tls), config)
        peak = read_status_kb(process.pid, "VmHWM") if process is not None else None
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        if process is not None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
    return {
        **{k: getattr(result, k) for k in (
            "events", "subscribers", "expected_deliveries", "delivered", "lost", "duplicated", "out_of_order",
            "completed")},
        "seconds": round(result.seconds, 2),
        "events_per_second": round(result.events_per_second),
        "clients": "GrpcWorkerRuntime" if args.runtime else "raw gRPC",
        "transport": "mutual TLS" if args.mtls else "plaintext",
        "publishers": args.publishers,
        "slow_subscriber": f"pause {args.slow_pause}s every {args.slow_every} events" if args.slow_every else None,
        "payload_bytes": args.payload_bytes,
        "host_rss_start_kb": rss_before,
        "host_rss_max_sampled_kb": max(rss_samples) if rss_samples else None,
        "host_peak_rss_kb": peak,
        "summary": result.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak_long", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events published in total (default %(default)s)")
    parser.add_argument("--publishers", type=int, default=2, help="publisher clients (default %(default)s)")
    parser.add_argument("--payload-bytes", type=int, default=64, help="padding per event (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--slow-every", type=int, default=0,
                        help="make worker 0 a slow subscriber: pause after every N events (default: not slow)")
    parser.add_argument("--slow-pause", type=float, default=0.01, help="seconds of each slow pause (default %(default)s)")
    parser.add_argument("--runtime", action="store_true",
                        help="publish and subscribe with GrpcWorkerRuntime agents instead of raw gRPC clients")
    parser.add_argument("--mtls", action="store_true",
                        help="run the host with mutual TLS (a throw-away test PKI) and connect with client certificates")
    parser.add_argument("--target", help="HOST:PORT of a running host instead of starting one")
    parser.add_argument("--host-arg", action="append", help="extra argument for 'agentrpc host' (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    args = parser.parse_args(argv)
    report = asyncio.run(soak(args))
    print(report["summary"])
    print(json.dumps({k: v for k, v in report.items() if k != "summary"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    ok = report["completed"] and report["lost"] == 0 and report["duplicated"] == 0 and report["out_of_order"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
