"""Run autogen-ext's GrpcWorkerAgentRuntimeHost on a free loopback port until SIGTERM.

Prints ``listening on 127.0.0.1:PORT`` once bound (the suite reads that line).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys


def _free_port() -> int:
    # The host's constructor takes an address, not a port-0 binding we can read back, so pick one here.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve() -> None:
    from autogen_ext.runtimes.grpc import GrpcWorkerAgentRuntimeHost

    address = f"127.0.0.1:{_free_port()}"
    host = GrpcWorkerAgentRuntimeHost(address=address)
    host.start()
    print(f"listening on {address}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await host.stop(grace=0.5)


def main() -> int:
    asyncio.run(_serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
