"""The interface every conformance target implements (a host the suite can reach over gRPC)."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from pyruntime.security.tls import ClientTls

# Client TLS material for reaching the target: PEM file paths (ca_cert, client_cert, client_key)
# and an optional server_name override; one class shared with pyruntime's clients.
TlsSettings = ClientTls


@dataclass(frozen=True)
class Endpoint:
    """Where the target listens, and how to reach it."""

    address: str  # "127.0.0.1:PORT"
    tls: TlsSettings | None = None
    bearer_token: str | None = None  # sent as "authorization: Bearer <token>" on every call

    def auth_metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata that authenticates to the target (empty without a token)."""
        return () if self.bearer_token is None else (("authorization", f"Bearer {self.bearer_token}"),)


class TargetUnavailable(Exception):
    """The target cannot run here (e.g. no Docker engine).

    ``str(exc)`` is ONE line the suite prints as the skip reason.
    """


class Target(abc.ABC):
    """A host under test. ``name`` is also the profile name: ``conformance/profiles/<name>.yaml``."""

    name: str

    @abc.abstractmethod
    def start(self) -> Endpoint:
        """Start (or locate) the target; blocks until a real gRPC call succeeded. Raises TargetUnavailable."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the target and remove its processes/containers. Idempotent."""

    def logs(self) -> str:
        """Recent target logs, attached to failure reports."""
        return ""
