"""TLS and mutual TLS with certificates made at test time, and the CLI as a subprocess."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyruntime.host import AgentRpcHost, HostConfigError, HostOptions, HostStartError
from tests.host.raw_peer import WAIT, RawPeer, event

ROOT = Path(__file__).resolve().parents[2]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _issue(ca_key, ca_name, common_name: str, *, server: bool) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A throw-away CA, a server cert for 127.0.0.1/localhost and a client cert, as PEM files."""
    directory = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_name = _name("agentrpc test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": ca_cert.public_bytes(serialization.Encoding.PEM)}
    files["server_cert"], files["server_key"] = _issue(ca_key, ca_name, "localhost", server=True)
    files["client_cert"], files["client_key"] = _issue(ca_key, ca_name, "worker-1", server=False)
    paths = {}
    for name, data in files.items():
        paths[name] = directory / f"{name}.pem"
        paths[name].write_bytes(data)
    return paths


def _credentials(pki: dict[str, Path], with_client_cert: bool) -> grpc.ChannelCredentials:
    if with_client_cert:
        return grpc.ssl_channel_credentials(
            pki["ca"].read_bytes(), pki["client_key"].read_bytes(), pki["client_cert"].read_bytes()
        )
    return grpc.ssl_channel_credentials(pki["ca"].read_bytes())


async def _round_trip(peer: RawPeer) -> None:
    stream = await peer.serve("T", topic_type="t")
    await stream.send(event("t"))
    assert [m.cloudEvent.type for m in await stream.sync()] == ["t"]


async def test_server_tls(start_host, peers, pki) -> None:
    host = await start_host(tls_cert=pki["server_cert"], tls_key=pki["server_key"])
    await _round_trip(peers(host, "A", credentials=_credentials(pki, with_client_cert=False)))
    # A plaintext client cannot talk to a TLS host.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await peers(host, "B").subscriptions()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_requires_a_client_certificate(start_host, peers, pki) -> None:
    host = await start_host(tls_cert=pki["server_cert"], tls_key=pki["server_key"], tls_client_ca=pki["ca"])
    await _round_trip(peers(host, "A", credentials=_credentials(pki, with_client_cert=True)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await peers(host, "B", credentials=_credentials(pki, with_client_cert=False)).subscriptions()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_option_combinations_are_checked() -> None:
    with pytest.raises(HostConfigError, match="tls_key"):
        HostOptions(tls_cert="cert.pem")
    with pytest.raises(HostConfigError, match="mutual"):
        HostOptions(tls_client_ca="ca.pem")
    with pytest.raises(HostConfigError, match="type_policy"):
        HostOptions(type_policy="exclusive")  # type: ignore[arg-type]
    with pytest.raises(HostConfigError, match="rpc_timeout"):
        HostOptions(rpc_timeout=0)


async def test_unreadable_certificate_and_busy_port_fail_clearly(tmp_path, host) -> None:
    broken = AgentRpcHost("127.0.0.1:0", HostOptions(tls_cert=tmp_path / "missing.pem", tls_key=tmp_path / "k.pem"))
    with pytest.raises(HostStartError, match="missing.pem"):
        await broken.start()
    with pytest.raises(HostStartError, match="cannot listen"):
        await AgentRpcHost(host.address).start()


async def _read_line(stream: asyncio.StreamReader) -> str:
    return (await asyncio.wait_for(stream.readline(), 20)).decode()


async def test_cli_prints_listening_line_serves_and_exits_zero_on_sigterm(peers) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0", "--rpc-timeout", "2",
        "--type-policy", "shared", "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = await _read_line(process.stdout)  # type: ignore[arg-type]
        assert line.startswith("listening on 127.0.0.1:"), line
        address = line.split()[-1]
        port = int(address.rsplit(":", 1)[1])
        assert port > 0
        await _round_trip(peers(address, "A"))
        await peers(address, "B").register("T")  # --type-policy shared was applied
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        assert await process.stdout.read() == b""  # type: ignore[union-attr]  # exactly one line
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_cli_rejects_bad_options_with_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyruntime.cli", "host", "--address", "nonsense"],
        capture_output=True, text=True, timeout=WAIT * 4, cwd=ROOT,
    )
    assert result.returncode == 2 and "HOST:PORT" in result.stderr


async def test_cli_auth_token_file_requires_the_bearer_token(tmp_path, peers) -> None:
    token_file = tmp_path / "tokens.txt"
    token_file.write_text("# accepted tokens\ns3cret\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0",
        "--auth-token-file", str(token_file), "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        address = (await _read_line(process.stdout)).split()[-1]  # type: ignore[arg-type]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await peers(address, "A").subscriptions()
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        authorized = peers(address, "B")
        authorized.metadata.append(("authorization", "Bearer s3cret"))
        assert await authorized.subscriptions() == []
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_cli_bind_client_ids_refuses_a_second_principal_on_a_bound_client_id(tmp_path, peers) -> None:
    token_file = tmp_path / "tokens.txt"
    token_file.write_text("alice-token\nbob-token\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0",
        "--auth-token-file", str(token_file), "--bind-client-ids", "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        address = (await _read_line(process.stdout)).split()[-1]  # type: ignore[arg-type]
        alice = peers(address, "shared-id")
        alice.metadata.append(("authorization", "Bearer alice-token"))
        await alice.register("AliceType")
        bob = peers(address, "shared-id")
        bob.metadata.append(("authorization", "Bearer bob-token"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await bob.subscriptions()
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_cli_tenant_namespaces_needs_mutual_tls() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0", "--tenant-namespaces"],
        capture_output=True, text=True, timeout=WAIT * 4, cwd=ROOT,
    )
    assert result.returncode == 2 and "--tls-client-ca" in result.stderr


def test_cli_missing_token_file_exits_2(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0",
         "--auth-token-file", str(tmp_path / "absent.txt")],
        capture_output=True, text=True, timeout=WAIT * 4, cwd=ROOT,
    )
    assert result.returncode == 2 and "absent.txt" in result.stderr


async def test_cli_json_logs_carry_structured_fields(peers) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0",
        "--log-level", "DEBUG", "--log-format", "json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    try:
        address = (await _read_line(process.stdout)).split()[-1]  # type: ignore[arg-type]
        stream = peers(address, "pub").open()
        await stream.send(event("lonely-topic", source="session-7"))
        await stream.sync()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        records = [json.loads(line) for line in (await process.stderr.read()).decode().splitlines()]  # type: ignore[union-attr]
        unrouted = [r for r in records if r["message"].startswith("unrouted event")]
        assert unrouted and unrouted[0]["client"] == "pub" and unrouted[0]["level"] == "DEBUG"
        assert (unrouted[0]["topic_type"], unrouted[0]["topic_source"]) == ("lonely-topic", "session-7")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
