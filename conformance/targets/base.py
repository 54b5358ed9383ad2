"""The interface every conformance target implements (a host the suite can reach over gRPC)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsSettings:
    """Client-side TLS material used to reach the target."""

    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    server_name: str | None = None  # override for the TLS authority


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
