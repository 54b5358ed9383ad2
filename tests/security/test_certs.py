"""The test PKI: what it writes is a real CA chain with the names a loopback host needs."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyruntime.security.certs import write_client_cert, write_test_pki


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_server_and_client_certificates_chain_to_the_ca_and_the_rogue_does_not(tmp_path: Path) -> None:
    pki = write_test_pki(tmp_path)
    ca, rogue_ca = load(pki.ca.cert), load(pki.rogue_ca.cert)
    for leaf in (pki.server.cert, pki.client.cert):
        load(leaf).verify_directly_issued_by(ca)
    load(pki.rogue_client.cert).verify_directly_issued_by(rogue_ca)
    assert load(pki.rogue_client.cert).issuer != ca.subject
    server = load(pki.server.cert)
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert (pki.server.key.stat().st_mode & 0o777) == 0o600


def test_extra_client_certificates_carry_their_name(tmp_path: Path) -> None:
    pki = write_test_pki(tmp_path)
    pair = write_client_cert(pki, "tenant-a")
    cert = load(pair.cert)
    cert.verify_directly_issued_by(load(pki.ca.cert))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "tenant-a"


def test_command_line_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    result = subprocess.run(
        [sys.executable, "-m", "pyruntime.security.certs", str(out)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for stem in ("ca", "server", "client", "rogue-ca", "rogue-client"):
        assert (out / f"{stem}.pem").is_file() and (out / f"{stem}.key").is_file()
    assert "server" in result.stdout
