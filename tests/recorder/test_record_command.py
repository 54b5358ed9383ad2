"""``agentrpc record`` as a real process: prints its address, records until SIGINT or --duration, writes the scenario."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import jsonschema

from conformance.engine.loader import scenarios_from_document
from conformance.recorder.command import main
from pyruntime.host import AgentRpcHost, HostOptions
from tests.recorder.recorded_traffic import run_session

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "schema" / "scenario.schema.json"
WAIT = 10.0


async def _start_recorder(upstream: str, out: Path, *extra: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruntime.cli", "record", "--listen", "127.0.0.1:0", "--upstream", upstream, "--out", str(out), *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), WAIT)).decode()
    assert line.startswith("listening on 127.0.0.1:"), line
    return process, line.split()[-1]


async def test_sigint_stops_the_recorder_and_writes_a_valid_scenario_and_the_raw_log(tmp_path: Path) -> None:
    out, raw = tmp_path / "session.json", tmp_path / "raw.json"
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        process, address = await _start_recorder(host.address, out, "--raw", str(raw), "--name", "CLI Session")
        try:
            await run_session(address)
        finally:
            process.send_signal(signal.SIGINT)
            stdout, stderr = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, stderr.decode()
    assert "wrote" in stdout.decode() and "recorded.cli-session" in stdout.decode()
    document = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    (scenario,) = scenarios_from_document(document, out)
    assert scenario.id == "recorded.cli-session" and len(scenario.peers) == 3
    exchanges = json.loads(raw.read_text())["exchanges"]
    assert {e["kind"] for e in exchanges} >= {"open", "send", "receive", "call"}
    assert [e["seq"] for e in exchanges] == sorted(e["seq"] for e in exchanges)


async def test_duration_stops_the_recorder_by_itself(tmp_path: Path) -> None:
    out = tmp_path / "timed.json"
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        process, address = await _start_recorder(host.address, out, "--duration", "3")
        await run_session(address)
        _, stderr = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, stderr.decode()
    assert json.loads(out.read_text())["id"] == "recorded.timed"


async def test_nothing_recorded_is_exit_1_and_no_file(tmp_path: Path) -> None:
    out = tmp_path / "empty.json"
    process, _ = await _start_recorder("127.0.0.1:1", out, "--duration", "0.2")
    _, stderr = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 1 and "no exchange" in stderr.decode()
    assert not out.exists()


def test_half_given_tls_options_are_refused(tmp_path: Path, capsys) -> None:
    pem = tmp_path / "cert.pem"
    pem.write_text("not used")
    code = main(["--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--out", str(tmp_path / "x.json"), "--tls-cert", str(pem)])
    assert code == 2 and "--tls-cert and --tls-key go together" in capsys.readouterr().err


async def test_a_recording_replays_through_pytest_conformance(tmp_path: Path) -> None:
    """The suite's own runner replays a recorded file: AGENTRPC_CONFORMANCE_DATA points at a directory
    holding it (plus the schemas), and `pytest conformance --target=HOST:PORT` runs it."""
    import os
    import shutil

    data = tmp_path / "data"
    (data / "scenarios").mkdir(parents=True)
    shutil.copytree(SCHEMA.parent, data / "schema")
    out = data / "scenarios" / "cli-replay.json"
    root = Path(__file__).resolve().parents[2]
    async with AgentRpcHost("127.0.0.1:0", HostOptions(shutdown_grace=0.2)) as host:
        process, address = await _start_recorder(host.address, out, "--namespace")
        try:
            await run_session(address)
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.communicate(), WAIT)
        assert process.returncode == 0
        suite = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pytest", "conformance", f"--target={host.address}", "-q", "-p", "no:cacheprovider",
            "--report-dir", str(tmp_path / "reports"),
            cwd=root, env=dict(os.environ, AGENTRPC_CONFORMANCE_DATA=str(data)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(suite.communicate(), 60)
    assert suite.returncode == 0, output.decode()[-2000:]
    assert "1 passed" in output.decode()
