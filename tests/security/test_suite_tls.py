"""Processes over TLS: the conformance suite judging a mutual-TLS host
(``pytest conformance --target=HOST:PORT --tls-*``, also with ``--bearer-token``), and
``agentrpc worker`` connecting to ``agentrpc host`` with mutual TLS and a token.

The host is our ``agentrpc host`` in a subprocess; the suite runs in another subprocess with a
small set of required cases, so this stays fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from pyruntime.security.certs import TestPki

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CASES = [
    "registration.basic.ok",
    "client-id.missing.register-agent-rejected",
    "events.type-subscription.delivered-unchanged.json",
    "rpc.success.request-and-response.json",
    "control.clientid-destination.routed",
]


def start_host(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0", "--log-level", "WARNING", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, cwd=REPO,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        process.wait(10)
        pytest.fail(f"agentrpc host did not start: {line!r}")
    return process, line.split()[-1]


@pytest.fixture
def mtls_host(pki: TestPki) -> Iterator[str]:
    process, address = start_host(
        "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key), "--tls-client-ca", str(pki.ca.cert)
    )
    try:
        yield address
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def run_suite(address: str, tmp_path: Path, *tls_args: str, cases: list[str] = CASES) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "pytest", "conformance", f"--target={address}", *tls_args,
        *(arg for case in cases for arg in ("--case", case)),
        "--report-dir", str(tmp_path / "reports"), "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
    ]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)


def test_suite_passes_against_a_mutual_tls_host(mtls_host: str, pki: TestPki, tmp_path: Path) -> None:
    # Connected by IP, verifying the certificate's DNS name (as for a remote host): one run covers
    # the CA, the client certificate and the server-name override.
    result = run_suite(
        mtls_host, tmp_path,
        "--tls-ca", str(pki.ca.cert), "--tls-cert", str(pki.client.cert), "--tls-key", str(pki.client.key),
        "--tls-server-name", "localhost",
    )
    tail = "\n".join(result.stdout.splitlines()[-15:])
    assert result.returncode == 0, tail + result.stderr[-2000:]
    assert f"{len(CASES)} passed" in result.stdout, tail


def test_suite_with_a_bearer_token(pki: TestPki, tmp_path: Path) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_text("suite-token\n")
    process, address = start_host("--auth-token-file", str(token_file))
    try:
        ok = run_suite(address, tmp_path, "--bearer-token", "suite-token")
        assert ok.returncode == 0, "\n".join(ok.stdout.splitlines()[-15:])
        assert f"{len(CASES)} passed" in ok.stdout
        # Without the token the same cases fail: the host really checks (and the suite really sends) it.
        refused = run_suite(address, tmp_path, cases=["registration.basic.ok"])
        assert refused.returncode != 0
    finally:
        process.terminate()
        process.wait(15)


def test_worker_command_over_mutual_tls_with_a_token(pki: TestPki, tmp_path: Path) -> None:
    """``agentrpc host`` and ``agentrpc worker`` as processes, with mTLS and a token; a raw client calls the worker's agent."""
    import asyncio

    from pyruntime._proto import agent_worker_pb2 as pb
    from pyruntime.security import ClientTls, bearer_metadata, secure_channel
    from tests.reliability.raw_worker import RawWorker

    token_file = tmp_path / "token.txt"
    token_file.write_text("cli-token\n")
    tls_args = ["--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key), "--tls-client-ca", str(pki.ca.cert)]
    host, address = start_host(*tls_args, "--auth-token-file", str(token_file))
    worker = subprocess.Popen(
        [sys.executable, "-m", "pyruntime.cli", "worker", "--host", address,
         "--agents", "tests.security.tenant_agents:register_memory",
         "--tls-ca", str(pki.ca.cert), "--tls-cert", str(pki.client.cert), "--tls-key", str(pki.client.key),
         "--auth-token-file", str(token_file)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, cwd=REPO,
    )
    try:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert "worker connected" in line, line

        async def call_memory() -> pb.RpcResponse:
            tls = ClientTls(ca_cert=pki.ca.cert, client_cert=pki.client.cert, client_key=pki.client.key)
            async with secure_channel(address, tls) as channel:
                caller = RawWorker(channel, extra_metadata=bearer_metadata("cli-token"))
                await caller.open()
                try:
                    await caller.send(pb.Message(request=pb.RpcRequest(
                        request_id="cli-1", target=pb.AgentId(type="memory", key="k"),
                        payload=pb.Payload(data_type="Recall", data_content_type="application/json", data=b"{}"),
                    )))
                    return await caller.next_response(timeout=10)
                finally:
                    await caller.close()

        reply = asyncio.run(call_memory())
        assert reply.error == "", reply.error
        assert json.loads(reply.payload.data)["owner"] == "memory/k"
    finally:
        for process in (worker, host):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
