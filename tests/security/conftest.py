"""Fixtures for the security tests: one throw-away PKI per session (real certificates, made at run time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyruntime.security.certs import TestPki, write_test_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return write_test_pki(Path(tmp_path_factory.mktemp("pki")))
