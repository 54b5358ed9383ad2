"""``agentrpc worker``: factory specs, startup, and a clear failure without a host."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pyruntime.worker.command import FactorySpecError, load_factory

from .conftest import free_port


def test_load_factory_accepts_module_colon_callable() -> None:
    from tests.worker.messages import register_victim

    assert load_factory("tests.worker.messages:register_victim") is register_victim


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "expected 'module:factory'"),
        ("not.a.module.anywhere:f", "cannot import"),
        ("tests.worker.messages:missing", "has no attribute"),
        ("tests.worker.messages:RECORDER", "not callable"),
    ],
)
def test_load_factory_errors_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FactorySpecError, match=message):
        load_factory(spec)


def test_worker_without_a_host_exits_1_with_a_clear_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyruntime.cli", "worker", "--host", f"127.0.0.1:{free_port()}",
         "--agents", "tests.worker.messages:register_victim", "--connect-timeout", "0.5"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "could not connect to the host" in result.stderr


def test_worker_with_a_bad_factory_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyruntime.cli", "worker", "--host", "127.0.0.1:1", "--agents", "nope"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and "module:factory" in result.stderr


def test_tls_flags_build_settings_with_the_server_name_override(tmp_path) -> None:
    from pyruntime.worker.command import _tls_from, build_parser

    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    args = build_parser().parse_args(["--host", "127.0.0.1:1", "--agents", "m:f", "--tls-ca", str(ca), "--tls-server-name", "localhost"])
    settings = _tls_from(args)
    assert settings is not None
    assert settings.root_certificates == ca.read_bytes() and settings.server_name_override == "localhost"
    assert _tls_from(build_parser().parse_args(["--host", "127.0.0.1:1", "--agents", "m:f"])) is None
