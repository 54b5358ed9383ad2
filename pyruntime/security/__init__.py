"""Security helpers: bearer tokens, client-id binding, tenant name spaces (server interceptors
for ``HostOptions.interceptors``), and client-side TLS.

Server TLS/mTLS is configured on the host itself (``HostOptions.tls_cert``, ``tls_key``,
``tls_client_ca``). A throw-away test PKI lives in :mod:`pyruntime.security.certs`
(imported on demand: it needs the ``cryptography`` package).
"""

from pyruntime.security.identity import ClientIdGuard, principal_of
from pyruntime.security.tenants import TenantNamespaceGuard, tenant_from_certificate, tenant_from_tokens
from pyruntime.security.tls import ClientTls, TlsConfigError, peer_common_names, secure_channel
from pyruntime.security.tokens import (
    AUTHORIZATION_KEY,
    BearerTokenInterceptor,
    TokenFileError,
    bearer_call_credentials,
    bearer_client_interceptors,
    bearer_metadata,
    load_token_file,
)

__all__ = [
    "AUTHORIZATION_KEY",
    "BearerTokenInterceptor",
    "ClientIdGuard",
    "ClientTls",
    "TenantNamespaceGuard",
    "TlsConfigError",
    "TokenFileError",
    "bearer_call_credentials",
    "bearer_client_interceptors",
    "bearer_metadata",
    "load_token_file",
    "peer_common_names",
    "principal_of",
    "secure_channel",
    "tenant_from_certificate",
    "tenant_from_tokens",
]
