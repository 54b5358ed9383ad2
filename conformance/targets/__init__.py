"""Conformance targets: which host the suite talks to.

``resolve_target(spec, options)`` turns a ``--target`` value into a :class:`Target`:

- ``python``          our host (``agentrpc host``), started as a subprocess for the session
- ``autogen``         autogen-ext's ``GrpcWorkerAgentRuntimeHost``, started as a subprocess
- ``dotnet``          the .NET gateway in a container (``conformance.targets.container``)
- ``container:IMAGE`` any host image; ``build:PATH`` a host built from a Dockerfile directory
- ``HOST:PORT``       a host that is already running (TLS from the options)
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.targets.base import Endpoint, Target, TargetUnavailable, TlsSettings


@dataclass(frozen=True)
class TargetOptions:
    """Options from the command line that some targets need."""

    tls: TlsSettings | None = None
    bearer_token: str | None = None


class UnknownTargetError(ValueError):
    """The --target value names no known target kind."""


def resolve_target(spec: str, options: TargetOptions | None = None) -> Target:
    """Build the Target named by ``spec`` (see the module docstring for the accepted forms)."""
    options = options or TargetOptions()
    if spec == "python":
        from conformance.targets.python import PythonHostTarget

        return PythonHostTarget()
    if spec == "autogen":
        from conformance.targets.autogen import AutogenHostTarget

        return AutogenHostTarget()
    if spec == "dotnet":
        from conformance.targets.container import dotnet_target

        return dotnet_target()
    if spec.startswith("container:"):
        from conformance.targets.container import image_target

        return image_target(spec.removeprefix("container:"))
    if spec.startswith("build:"):
        from conformance.targets.container import build_target

        return build_target(spec.removeprefix("build:"))
    host, sep, port = spec.rpartition(":")
    if sep and host and port.isdigit():
        from conformance.targets.external import ExternalTarget

        return ExternalTarget(spec, options.tls, options.bearer_token)
    raise UnknownTargetError(
        f"unknown target {spec!r}: use python, autogen, dotnet, container:IMAGE, build:PATH or HOST:PORT"
    )


__all__ = [
    "Endpoint",
    "Target",
    "TargetOptions",
    "TargetUnavailable",
    "TlsSettings",
    "UnknownTargetError",
    "resolve_target",
]
