"""Client-side TLS: channel credentials for workers, the conformance suite, the recorder and tests.

The server side lives with the host (``HostOptions.tls_cert/tls_key/tls_client_ca`` and
``pyruntime.host.server.server_credentials``); this module is its counterpart, and the one
place where client credentials are built. Two forms of the same settings: ``ClientTls`` names
PEM files (read when credentials are made), ``TlsSettings`` holds PEM bytes::

    tls = ClientTls(ca_cert="ca.pem", client_cert="client.pem", client_key="client.key")
    async with secure_channel("127.0.0.1:50051", tls, token=None) as channel: ...
    GrpcWorkerRuntime("127.0.0.1:50051", tls=tls.load())
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import grpc

from pyruntime.security.tokens import bearer_call_credentials


class TlsConfigError(ValueError):
    """TLS settings that cannot work (a certificate without its key, an unreadable file)."""


def _read(path: Path | str | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise TlsConfigError(f"cannot read {what} {str(path)!r}: {error.strerror}") from error


def _name_override(server_name: str | None) -> list[tuple[str, Any]]:
    return [("grpc.ssl_target_name_override", server_name)] if server_name else []


@dataclass(frozen=True)
class TlsSettings:
    """TLS for a channel to the host, as PEM bytes: CA roots, and a client certificate for mutual TLS.

    ``root_certificates`` None means the system roots. ``server_name_override``: the name to check
    the host's certificate against when it differs from the address.
    """

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None
    server_name_override: str | None = None

    def credentials(self, token: str | None = None) -> grpc.ChannelCredentials:
        """SSL channel credentials; with ``token``, also the bearer token on every call."""
        credentials = grpc.ssl_channel_credentials(self.root_certificates, self.private_key, self.certificate_chain)
        if token is not None:
            credentials = grpc.composite_channel_credentials(credentials, bearer_call_credentials(token))
        return credentials

    def channel_options(self) -> list[tuple[str, Any]]:
        """Channel options TLS needs (the server-name override, when set)."""
        return _name_override(self.server_name_override)


@dataclass(frozen=True)
class ClientTls:
    """How a client verifies the host and, for mutual TLS, proves who it is.

    ``ca_cert``: PEM roots that signed the host's certificate (None: the system roots).
    ``client_cert``/``client_key``: the client's PEM chain and key, for a host that
    requires client certificates. ``server_name``: the name to check the host's
    certificate against when it differs from the address (e.g. connecting by IP to a
    certificate issued for ``localhost``).
    """

    ca_cert: Path | str | None = None
    client_cert: Path | str | None = None
    client_key: Path | str | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.client_cert is None) != (self.client_key is None):
            raise TlsConfigError("mutual TLS needs both client_cert and client_key (PEM files)")

    def load(self) -> TlsSettings:
        """Read the PEM files (``TlsConfigError`` names the one that cannot be read)."""
        return TlsSettings(
            root_certificates=_read(self.ca_cert, "CA certificate"),
            private_key=_read(self.client_key, "client key"),
            certificate_chain=_read(self.client_cert, "client certificate"),
            server_name_override=self.server_name,
        )

    def channel_credentials(self, token: str | None = None) -> grpc.ChannelCredentials:
        """SSL channel credentials; with ``token``, also the bearer token on every call."""
        return self.load().credentials(token)

    def channel_options(self) -> list[tuple[str, Any]]:
        """Channel options TLS needs (the server-name override, when set)."""
        return _name_override(self.server_name)


def secure_channel(
    address: str, tls: ClientTls, *, token: str | None = None, options: Sequence[tuple[str, Any]] = ()
) -> grpc.aio.Channel:
    """A grpc.aio channel to ``address`` over TLS (mutual when ``tls`` has a client cert)."""
    return grpc.aio.secure_channel(
        address, tls.channel_credentials(token), options=[*options, *tls.channel_options()]
    )


def peer_common_names(context: grpc.aio.ServicerContext) -> tuple[str, ...]:
    """Server side: the verified client certificate's common name(s); empty without mutual TLS."""
    auth = context.auth_context() or {}
    values = auth.get("x509_common_name", ())
    return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values)
