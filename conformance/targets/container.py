"""Container targets: the AutoGen .NET gateway and any AgentRpc host image, run with testcontainers.

- ``dotnet``: builds ``docker/dotnet-gateway`` (or uses the image named by ``$AGENTRPC_DOTNET_IMAGE``)
  and serves AgentRpc on its fixed port :data:`DOTNET_GATEWAY_PORT`.
- ``container:IMAGE``: pulls IMAGE if it is not present and starts it.
- ``build:PATH``: builds ``PATH/Dockerfile`` (or PATH itself when it names a file) and starts it. The
  build context is the Dockerfile's directory, unless the Dockerfile carries the label
  ``org.agentrpc.build-context`` with a directory relative to it (``docker/python-host`` uses ``../..``).
  Context files follow ``<Dockerfile>.dockerignore`` next to the Dockerfile (BuildKit's convention),
  else ``<context>/.dockerignore``.

For ``container:`` and ``build:`` the AgentRpc port is the one port the image EXPOSEs.

Each container publishes that port on 127.0.0.1 only, at a free host port. The target is ready when a
real AgentRpc call answers (:func:`conformance.targets.readiness.wait_until_serving`), not when a log
line or an HTTP probe says so. ``logs()`` returns the container's output (attached to failure
reports); ``stop()`` removes the container. Images are kept so the next run builds from cache.

Without a reachable Docker engine ``start()`` raises :class:`TargetUnavailable` with one line naming
what is missing. Nothing stands in for the .NET gateway: no engine, no dotnet target.
"""

from __future__ import annotations

import collections
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors
import requests.exceptions
from docker.utils.build import exclude_paths, tar
from dockerfile_parse import DockerfileParser
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient, get_docker_host
from testcontainers.core.image import DockerImage

from conformance.targets.base import Endpoint, Target, TargetUnavailable
from conformance.targets.readiness import wait_until_serving

REPO_ROOT = Path(__file__).resolve().parents[2]
DOTNET_GATEWAY_DIR = REPO_ROOT / "docker" / "dotnet-gateway"
PYTHON_HOST_DIR = REPO_ROOT / "docker" / "python-host"

DOTNET_GATEWAY_PORT = 5001
"""AgentRpc port of the .NET gateway image (Program.cs, Dockerfile EXPOSE; checked by tests/docker)."""
PYTHON_HOST_PORT = 50051
"""AgentRpc port of the Python host image (docker/python-host/Dockerfile)."""

DOTNET_IMAGE_ENV = "AGENTRPC_DOTNET_IMAGE"
"""Set to a prebuilt gateway image to skip the build of docker/dotnet-gateway."""
DOTNET_GATEWAY_TAG = "agentrpc-conformance/dotnet-gateway:local"
BUILD_CONTEXT_LABEL = "org.agentrpc.build-context"
README_HINT = "see README 'Running the dotnet target'"

ENGINE_PROBE_TIMEOUT = 5.0
"""Seconds the engine check waits for the Docker socket."""
DOTNET_STARTUP_TIMEOUT = 120.0
"""The gateway starts an Orleans silo before it serves; allow for a slow first start."""
IMAGE_STARTUP_TIMEOUT = 60.0
BUILD_TIMEOUT = 1800
"""Upper bound (seconds) on any single Docker API call, including a first, uncached .NET build."""
_LOG_LINES = 400
"""Lines of container output kept for failure reports."""
_LOG_LINE_CHARS = 2000
"""Longer lines are cut: the .NET gateway logs whole messages, and a failure report should stay readable."""


class ContainerSetupError(ValueError):
    """A build:PATH or container:IMAGE argument cannot be used as given (the message says why)."""


def _root_cause(error: BaseException) -> str:
    """The innermost cause of a chained error, as short text (one line)."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = error.__cause__ or error.__context__
        if inner is None:
            break
        error = inner
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())[:160]


def docker_host_url() -> str:
    """The Docker endpoint testcontainers will use (DOCKER_HOST, testcontainers config, or the default socket)."""
    return get_docker_host() or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def engine_unavailable(detail: str) -> TargetUnavailable:
    """The one-line skip reason used whenever no Docker engine answers."""
    return TargetUnavailable(
        f"Docker engine not reachable ({detail}): the dotnet/container targets need Docker; {README_HINT}"
    )


def probe_docker_engine(timeout: float = ENGINE_PROBE_TIMEOUT) -> None:
    """Return if a Docker engine answers a ping within ``timeout`` seconds; else raise TargetUnavailable."""
    host = docker_host_url()
    try:
        client = docker.from_env(timeout=int(max(1, timeout)), environment={**os.environ, "DOCKER_HOST": host})
        try:
            client.ping()
        finally:
            client.close()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as error:
        raise engine_unavailable(f"{host}: {_root_cause(error)}") from error


# ----------------------------------------------------------------------------------------------
# Plans: plain data that says what to build and run. Building them needs no engine, so the
# tests check them on machines without Docker.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildPlan:
    """How to build an image from a Dockerfile."""

    context: Path
    """The build context directory."""
    dockerfile: str
    """The Dockerfile, relative to ``context`` (POSIX separators)."""
    tag: str
    ignore_file: Path | None = None
    """The .dockerignore that applies, if any."""

    def ignore_patterns(self) -> list[str]:
        """The ignore patterns, as the Docker CLI reads them (blank lines and comments dropped)."""
        if self.ignore_file is None:
            return []
        lines = (line.strip() for line in self.ignore_file.read_text(encoding="utf-8").splitlines())
        return [line for line in lines if line and not line.startswith("#")]

    def context_files(self) -> set[str]:
        """Every path (files and directories, relative, POSIX) the build context will contain."""
        return {
            path.replace(os.sep, "/")
            for path in exclude_paths(str(self.context), self.ignore_patterns(), dockerfile=self.dockerfile)
        }

    def context_archive(self) -> IO[bytes]:
        """The build context as an uncompressed tar file, positioned at its start."""
        archive: IO[bytes] = tar(
            str(self.context), exclude=self.ignore_patterns(), dockerfile=(self.dockerfile, None), gzip=False
        )
        return archive


def build_plan(path: str | os.PathLike[str], tag: str | None = None) -> BuildPlan:
    """Plan the build of ``path`` (a Dockerfile, or a directory holding one named ``Dockerfile``)."""
    given = Path(path).expanduser()
    dockerfile = given / "Dockerfile" if given.is_dir() else given
    if not dockerfile.is_file():
        raise ContainerSetupError(f"build:{path}: no Dockerfile at {dockerfile}")
    dockerfile = dockerfile.resolve()
    parsed = DockerfileParser(str(dockerfile))
    context_label = parsed.labels.get(BUILD_CONTEXT_LABEL)
    context = (dockerfile.parent / context_label).resolve() if context_label else dockerfile.parent
    if not context.is_dir():
        raise ContainerSetupError(f"build:{path}: build context {context} (label {BUILD_CONTEXT_LABEL}) is not a directory")
    try:
        relative = dockerfile.relative_to(context).as_posix()
    except ValueError:
        raise ContainerSetupError(f"build:{path}: the Dockerfile is outside its build context {context}") from None
    beside = dockerfile.with_name(dockerfile.name + ".dockerignore")
    at_root = context / ".dockerignore"
    ignore_file = beside if beside.is_file() else at_root if at_root.is_file() else None
    if tag is None:
        name = dockerfile.parent.name.lower() if dockerfile.name == "Dockerfile" else dockerfile.stem.lower()
        tag = f"agentrpc-conformance/{name or 'image'}:local"
    return BuildPlan(context=context, dockerfile=relative, tag=tag, ignore_file=ignore_file)


@dataclass(frozen=True)
class RunPlan:
    """How to run one AgentRpc host container."""

    image: str
    port: int | None = None
    """The AgentRpc port inside the container; None = the one port the image EXPOSEs."""
    command: list[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout: float = IMAGE_STARTUP_TIMEOUT


def exposed_port(image_config: Mapping[str, Any], image: str) -> int:
    """The single TCP port an image's config EXPOSEs (``Config.ExposedPorts`` of ``docker image inspect``)."""
    exposed = (image_config.get("Config") or {}).get("ExposedPorts") or {}
    tcp = sorted(int(key.split("/")[0]) for key in exposed if key.endswith("/tcp") or "/" not in key)
    if len(tcp) != 1:
        raise ContainerSetupError(
            f"image {image} exposes {len(tcp)} TCP ports {tcp}: an AgentRpc host image must EXPOSE exactly one"
        )
    return tcp[0]


def make_container(plan: RunPlan, port: int, docker_client_kw: Mapping[str, Any] | None = None) -> DockerContainer:
    """A testcontainers container for ``plan`` whose AgentRpc ``port`` is published on 127.0.0.1 only.

    Constructing it needs a docker client; with ``docker_client_kw={"version": ...}`` the client does
    not contact the engine until the container starts.
    """
    container = DockerContainer(
        plan.image,
        docker_client_kw=dict(docker_client_kw or {}),
        env=dict(plan.env),
    )
    if plan.command is not None:
        container.with_command(list(plan.command))
    # A 1-tuple (ip,) asks the engine for a free host port on that interface only; testcontainers'
    # own helpers publish on every interface, and the suite reaches hosts on loopback only.
    container.ports[f"{port}/tcp"] = ("127.0.0.1",)  # type: ignore[assignment]
    return container


def make_image(plan: BuildPlan, archive: IO[bytes], docker_client_kw: Mapping[str, Any] | None = None) -> DockerImage:
    """A testcontainers image build of ``plan`` from a prepared context ``archive``.

    The archive (not the docker SDK's own walk of the context) decides what is sent, so the
    Dockerfile's own ``.dockerignore`` applies even when the context is the repository root.
    """
    return DockerImage(
        path=str(plan.context),
        docker_client_kw=dict(docker_client_kw or {}),
        tag=plan.tag,
        clean_up=False,
        dockerfile_path=plan.dockerfile,
        fileobj=archive,
        custom_context=True,
    )


# ----------------------------------------------------------------------------------------------
# The target.
# ----------------------------------------------------------------------------------------------


class ContainerTarget(Target):
    """An AgentRpc host in a Docker container: build or pull, start, probe, log, remove."""

    def __init__(
        self,
        name: str,
        run: RunPlan,
        build: BuildPlan | None = None,
        docker_client_kw: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.run = run
        self.build = build
        self._client_kw: dict[str, Any] = {"timeout": BUILD_TIMEOUT, **(docker_client_kw or {})}
        self._container: DockerContainer | None = None
        self._lines: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self.endpoint: Endpoint | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Endpoint:
        if self._container is not None and self.endpoint is not None:
            return self.endpoint  # already running: never start a second container
        probe_docker_engine()
        try:
            image = self._build_image() if self.build is not None else self.run.image
            port = self.run.port if self.run.port is not None else self._image_port(image)
            container = make_container(RunPlan(image, port, self.run.command, self.run.env), port, self._client_kw)
            self._container = container
            container.start()
            endpoint = Endpoint(address=f"127.0.0.1:{self._published_port(container, port)}")
        except TargetUnavailable:
            self.stop()
            raise
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, RuntimeError) as error:
            # RuntimeError: testcontainers' own start/inspect failures (ContainerStartException, ...).
            self.stop()
            raise TargetUnavailable(f"{self.name} container did not start: {_root_cause(error)}") from error
        self._wait_until_serving(container, endpoint)
        self.endpoint = endpoint
        return endpoint

    def stop(self) -> None:
        container, self._container = self._container, None
        self.endpoint = None
        if container is None:
            return
        self._capture_logs(container)
        try:
            container.stop(force=True, delete_volume=True)
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
            # Already gone (or the engine went away); Ryuk removes leftovers at session end.
            pass

    def logs(self) -> str:
        if self._container is not None:
            self._capture_logs(self._container)
        return "\n".join(self._lines)

    # -- steps -----------------------------------------------------------------------------

    def _build_image(self) -> str:
        assert self.build is not None
        with self.build.context_archive() as archive:
            image = make_image(self.build, archive, self._client_kw)
            try:
                image.build()
            except docker.errors.BuildError as error:
                lines = _build_log_lines(error.build_log)
                self._remember(lines)
                saved = write_log_file(self.name, "build", lines)
                raise TargetUnavailable(
                    f"building {self.build.context / self.build.dockerfile} failed: {_root_cause(error)} (build log: {saved})"
                ) from error
            self._remember(_build_log_lines(image.get_logs()))
        return self.build.tag

    def _image_port(self, image: str) -> int:
        client = DockerClient(**self._client_kw).client  # same engine selection as testcontainers
        try:
            try:
                found = client.images.get(image)
            except docker.errors.ImageNotFound:
                found = client.images.pull(image)
            try:
                return exposed_port(found.attrs, image)
            except ContainerSetupError as error:
                raise TargetUnavailable(str(error)) from error
        finally:
            client.close()

    @staticmethod
    def _published_port(container: DockerContainer, port: int) -> int:
        mappings = container.get_docker_client().client.api.port(container.get_container_id(), port) or []
        for mapping in mappings:
            if mapping.get("HostIp") in ("127.0.0.1", "") and mapping.get("HostPort"):
                return int(mapping["HostPort"])
        raise TargetUnavailable(f"container port {port} was not published on 127.0.0.1 ({mappings})")

    def _wait_until_serving(self, container: DockerContainer, endpoint: Endpoint) -> None:
        """Probe with real AgentRpc calls in short slices, failing fast if the container exits."""
        deadline = time.monotonic() + self.run.startup_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                last = self._last_log_line(container)
                saved = write_log_file(self.name, "container", list(self._lines))
                self.stop()
                raise TargetUnavailable(
                    f"{self.name} container did not answer AgentRpc on {endpoint.address} within "
                    f"{self.run.startup_timeout:.0f}s (last log line: {last}; log: {saved})"
                )
            try:
                wait_until_serving(endpoint, timeout=min(3.0, remaining))
                return
            except TargetUnavailable:
                pass
            state = self._state(container)
            if state.get("Status") in ("exited", "dead"):
                last = self._last_log_line(container)
                saved = write_log_file(self.name, "container", list(self._lines))
                self.stop()
                raise TargetUnavailable(
                    f"{self.name} container exited during startup (exit code {state.get('ExitCode')}): {last} (log: {saved})"
                )

    @staticmethod
    def _state(container: DockerContainer) -> dict[str, Any]:
        """The container's State from ``docker inspect``; a vanished container counts as dead."""
        try:
            wrapped = container.get_wrapped_container()
            wrapped.reload()
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, RuntimeError):
            return {"Status": "dead", "ExitCode": "unknown: the container is gone"}
        state: dict[str, Any] = wrapped.attrs.get("State") or {}
        return state

    def _capture_logs(self, container: DockerContainer) -> None:
        """Replace the kept lines with the container's latest output (stdout and stderr interleaved)."""
        try:
            raw = container.get_wrapped_container().logs(stdout=True, stderr=True, tail=_LOG_LINES)
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, RuntimeError):
            return
        self._lines.clear()
        self._remember(raw.decode("utf-8", errors="replace").splitlines())

    def _remember(self, lines: list[str]) -> None:
        self._lines.extend(cap_line(line) for line in lines)

    def _last_log_line(self, container: DockerContainer) -> str:
        self._capture_logs(container)
        return next((line.strip()[:200] for line in reversed(self._lines) if line.strip()), "no output")


def cap_line(line: str, limit: int = _LOG_LINE_CHARS) -> str:
    """``line`` cut to ``limit`` characters, saying how long it was."""
    return line if len(line) <= limit else f"{line[:limit]}... ({len(line)} chars)"


def write_log_file(target: str, kind: str, lines: list[str]) -> Path:
    """Save a build or container log where the one-line skip reason can point to it."""
    handle, name = tempfile.mkstemp(prefix=f"agentrpc-{target}-{kind}-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return Path(name)


def _build_log_lines(entries: Any) -> list[str]:
    """Text lines of a docker build log (a list of JSON chunks)."""
    lines: list[str] = []
    for entry in entries or []:
        if isinstance(entry, Mapping):
            text = entry.get("stream") or entry.get("error") or ""
            lines.extend(line for line in str(text).splitlines() if line.strip())
    return lines


# ----------------------------------------------------------------------------------------------
# The factories conformance.targets.resolve_target calls.
# ----------------------------------------------------------------------------------------------


def dotnet_target() -> ContainerTarget:
    """``--target=dotnet``: the AutoGen .NET gateway image (built from docker/dotnet-gateway)."""
    prebuilt = os.environ.get(DOTNET_IMAGE_ENV, "").strip()
    run = RunPlan(image=prebuilt or DOTNET_GATEWAY_TAG, port=DOTNET_GATEWAY_PORT, startup_timeout=DOTNET_STARTUP_TIMEOUT)
    if prebuilt:
        return ContainerTarget("dotnet", run)
    if not (DOTNET_GATEWAY_DIR / "Dockerfile").is_file():
        return _UnavailableTarget(
            "dotnet",
            f"{DOTNET_GATEWAY_DIR} not found (the dotnet target builds from a source checkout; "
            f"set {DOTNET_IMAGE_ENV}=IMAGE to use a prebuilt gateway image)",
        )
    return ContainerTarget("dotnet", run, build=build_plan(DOTNET_GATEWAY_DIR, tag=DOTNET_GATEWAY_TAG))


def image_target(image: str) -> ContainerTarget:
    """``--target=container:IMAGE``: any AgentRpc host image; its one EXPOSEd port is the AgentRpc port."""
    if not image.strip():
        raise ContainerSetupError("container:IMAGE needs an image name, e.g. container:agentrpc-conformance/python-host:local")
    return ContainerTarget("container", RunPlan(image=image.strip()))


def build_target(path: str) -> ContainerTarget:
    """``--target=build:PATH``: build PATH's Dockerfile and run it; its one EXPOSEd port is the AgentRpc port."""
    plan = build_plan(path)
    return ContainerTarget("container", RunPlan(image=plan.tag), build=plan)


class _UnavailableTarget(ContainerTarget):
    """A container target that cannot be set up on this machine; start() says why in one line."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, RunPlan(image=""))
        self._reason = reason

    def start(self) -> Endpoint:
        raise TargetUnavailable(self._reason)


__all__ = [
    "BUILD_CONTEXT_LABEL",
    "DOTNET_GATEWAY_DIR",
    "DOTNET_GATEWAY_PORT",
    "DOTNET_IMAGE_ENV",
    "PYTHON_HOST_DIR",
    "PYTHON_HOST_PORT",
    "BuildPlan",
    "ContainerSetupError",
    "ContainerTarget",
    "RunPlan",
    "build_plan",
    "build_target",
    "dotnet_target",
    "exposed_port",
    "image_target",
    "make_container",
    "make_image",
    "probe_docker_engine",
]
