"""A throw-away certificate authority for trying TLS and mutual TLS on loopback.

    from pyruntime.security.certs import write_test_pki
    pki = write_test_pki("/tmp/agentrpc-pki")       # ca, server (127.0.0.1/localhost), client, rogue CA + client
    # agentrpc host --tls-cert pki.server.cert --tls-key pki.server.key --tls-client-ca pki.ca.cert

or from a shell: ``python -m pyruntime.security.certs /tmp/agentrpc-pki``.

Keys are EC P-256, certificates last one day: this is for tests and local experiments,
never for production (the CA key sits unencrypted next to the certificates). Needs the
``cryptography`` package (``pip install 'agentrpc-conformance[test-core]'``).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import sys
from dataclasses import dataclass
from pathlib import Path

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pyruntime.security.certs needs the 'cryptography' package: pip install cryptography"
    ) from error

_VALIDITY = datetime.timedelta(days=1)
_CLOCK_SKEW = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class CertPair:
    """A PEM certificate and its PEM private key, on disk."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class TestPki:
    """Everything ``write_test_pki`` wrote.

    ``ca`` signs ``server`` and ``client``; ``rogue_ca`` is an unrelated CA whose
    ``rogue_client`` a mutual-TLS host must refuse.
    """

    __test__ = False  # not a pytest test class despite the name

    directory: Path
    ca: CertPair
    server: CertPair
    client: CertPair
    rogue_ca: CertPair
    rogue_client: CertPair


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "agentrpc test PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _builder(subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _VALIDITY)
    )


def make_ca(common_name: str) -> _Issued:
    """A self-signed CA certificate allowed to sign leaf certificates only."""
    key = _new_key()
    cert = (
        _builder(common_name, _name(common_name), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Issued(cert, key)


def issue(
    ca: _Issued, common_name: str, *, server: bool, dns_names: tuple[str, ...] = (), ips: tuple[str, ...] = ()
) -> _Issued:
    """A leaf certificate signed by ``ca``: a TLS server cert (with SANs) or a client cert."""
    key = _new_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(common_name, ca.cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return _Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _write(directory: Path, stem: str, issued: _Issued) -> CertPair:
    cert_path = directory / f"{stem}.pem"
    key_path = directory / f"{stem}.key"
    cert_path.write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return CertPair(cert_path, key_path)


def write_test_pki(directory: Path | str, *, client_name: str = "agentrpc-worker") -> TestPki:
    """Write a CA, a server cert for ``localhost``/``127.0.0.1``/``::1``, a client cert and a rogue pair.

    File names: ``ca.pem``/``ca.key``, ``server.pem``/``server.key``, ``client.pem``/``client.key``,
    ``rogue-ca.pem``/``rogue-ca.key``, ``rogue-client.pem``/``rogue-client.key``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ca = make_ca("agentrpc test CA")
    server = issue(ca, "localhost", server=True, dns_names=("localhost",), ips=("127.0.0.1", "::1"))
    client = issue(ca, client_name, server=False)
    rogue_ca = make_ca("agentrpc rogue CA")
    rogue_client = issue(rogue_ca, client_name, server=False)
    return TestPki(
        directory=out,
        ca=_write(out, "ca", ca),
        server=_write(out, "server", server),
        client=_write(out, "client", client),
        rogue_ca=_write(out, "rogue-ca", rogue_ca),
        rogue_client=_write(out, "rogue-client", rogue_client),
    )


def write_client_cert(pki: TestPki, common_name: str, stem: str | None = None) -> CertPair:
    """Another client certificate signed by ``pki``'s CA (one per worker or tenant)."""
    ca_cert = x509.load_pem_x509_certificate(pki.ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(pki.ca.key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.ca.key} is not an EC key written by write_test_pki")
    issued = issue(_Issued(ca_cert, ca_key), common_name, server=False)
    return _write(pki.directory, stem or f"client-{common_name}", issued)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyruntime.security.certs",
        description="Write a one-day test PKI (CA, localhost server cert, client cert, rogue CA) for local mTLS trials.",
    )
    parser.add_argument("directory", help="where to write the PEM files (created if missing)")
    parser.add_argument("--client-name", default="agentrpc-worker", help="common name of the client certificate")
    args = parser.parse_args(argv)
    pki = write_test_pki(args.directory, client_name=args.client_name)
    for label, pair in (("ca", pki.ca), ("server", pki.server), ("client", pki.client),
                        ("rogue-ca", pki.rogue_ca), ("rogue-client", pki.rogue_client)):
        print(f"{label:13} {pair.cert}  {pair.key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
