"""The container targets, exercised up to the point where a Docker engine is needed.

What needs an engine (pulling, building, running) is in test_container_engine.py and skips here.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage

from conformance.targets import TargetUnavailable, resolve_target
from conformance.targets.container import (
    DOTNET_GATEWAY_DIR,
    DOTNET_GATEWAY_PORT,
    DOTNET_IMAGE_ENV,
    PYTHON_HOST_DIR,
    REPO_ROOT,
    BuildPlan,
    ContainerSetupError,
    ContainerTarget,
    RunPlan,
    build_plan,
    exposed_port,
    make_container,
    make_image,
    probe_docker_engine,
)

# A pinned API version lets the docker SDK client be constructed without asking an engine.
OFFLINE_CLIENT = {"version": "1.44"}
SKIP_REASON_START = "Docker engine not reachable ("
SKIP_REASON_END = "): the dotnet/container targets need Docker; see README 'Running the dotnet target'"


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Point the docker SDK and testcontainers at a socket where no engine listens.

    A developer's ~/.testcontainers.properties (tc.host) would take precedence over DOCKER_HOST.
    """
    from testcontainers.core.config import testcontainers_config

    socket = f"unix://{tmp_path}/no-engine.sock"
    monkeypatch.setenv("DOCKER_HOST", socket)
    monkeypatch.setattr(testcontainers_config, "tc_properties", {})
    return socket


def test_resolve_target_builds_the_dotnet_gateway_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DOTNET_IMAGE_ENV, raising=False)
    target = resolve_target("dotnet")
    assert isinstance(target, ContainerTarget)
    assert target.name == "dotnet"
    assert target.run.port == DOTNET_GATEWAY_PORT
    assert target.build is not None
    assert target.build.context == DOTNET_GATEWAY_DIR
    assert target.build.dockerfile == "Dockerfile"
    assert target.run.image == target.build.tag
    assert target.run.startup_timeout >= 60, "an Orleans silo needs time to start"


def test_a_prebuilt_gateway_image_skips_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DOTNET_IMAGE_ENV, "registry.example/agentrpc/gateway:1.2.3")
    target = resolve_target("dotnet")
    assert isinstance(target, ContainerTarget)
    assert target.build is None
    assert target.run.image == "registry.example/agentrpc/gateway:1.2.3"
    assert target.run.port == DOTNET_GATEWAY_PORT


def test_container_and_build_specs() -> None:
    image = resolve_target("container:ghcr.io/example/host:2.0@sha256:" + "a" * 64)
    assert isinstance(image, ContainerTarget)
    assert (image.name, image.build, image.run.port) == ("container", None, None)
    assert image.run.image == "ghcr.io/example/host:2.0@sha256:" + "a" * 64

    built = resolve_target("build:docker/python-host")
    assert isinstance(built, ContainerTarget) and built.build is not None
    assert built.name == "container"
    assert built.build.context == REPO_ROOT  # from the Dockerfile's build-context label
    assert built.build.dockerfile == "docker/python-host/Dockerfile"
    assert built.run.image == built.build.tag == "agentrpc-conformance/python-host:local"


def test_build_plan_accepts_a_dockerfile_path_and_rejects_a_missing_one(tmp_path: Path) -> None:
    assert build_plan(PYTHON_HOST_DIR / "Dockerfile") == build_plan(PYTHON_HOST_DIR)
    with pytest.raises(ContainerSetupError, match="no Dockerfile"):
        build_plan(tmp_path)
    outside = tmp_path / "Dockerfile"
    outside.write_text('FROM python:3.11.17-slim-bookworm\nLABEL org.agentrpc.build-context="sub"\n')
    with pytest.raises(ContainerSetupError, match="is not a directory"):
        build_plan(outside)
    with pytest.raises(ContainerSetupError, match="needs an image name"):
        resolve_target("container:")


def test_plain_build_context_uses_its_own_dockerignore(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11.17-slim-bookworm\nCOPY app.py /app/\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "secret.env").write_text("TOKEN=x\n")
    (tmp_path / ".dockerignore").write_text("# comment\n\nsecret.env\n")
    plan = build_plan(tmp_path)
    assert plan == BuildPlan(
        context=tmp_path.resolve(), dockerfile="Dockerfile",
        tag=f"agentrpc-conformance/{tmp_path.name.lower()}:local", ignore_file=tmp_path.resolve() / ".dockerignore",
    )
    assert plan.ignore_patterns() == ["secret.env"]
    assert {"Dockerfile", "app.py"} <= plan.context_files()
    assert "secret.env" not in plan.context_files()


def test_context_archive_holds_exactly_the_allowed_files() -> None:
    plan = build_plan(PYTHON_HOST_DIR)
    with plan.context_archive() as archive, tarfile.open(fileobj=archive) as tar:
        names = set(tar.getnames())
    assert "docker/python-host/Dockerfile" in names
    assert "docker/python-host/requirements.txt" in names
    assert "pyproject.toml" in names and "pyruntime/host/command.py" in names
    assert not any(n.startswith((".venv", ".git/", "tests/", "conformance/")) for n in names)


def test_make_container_publishes_the_port_on_loopback_only() -> None:
    plan = RunPlan(image="agentrpc-conformance/dotnet-gateway:local", port=DOTNET_GATEWAY_PORT,
                   command=["--flag"], env={"A": "1"})
    container = make_container(plan, DOTNET_GATEWAY_PORT, OFFLINE_CLIENT)
    assert isinstance(container, DockerContainer)
    assert container.image.endswith("agentrpc-conformance/dotnet-gateway:local")
    assert container.ports == {f"{DOTNET_GATEWAY_PORT}/tcp": ("127.0.0.1",)}
    assert container.env == {"A": "1"}
    assert container._command == ["--flag"]
    # The docker SDK turns the 1-tuple into HostIp=127.0.0.1 with an engine-chosen HostPort.
    from docker.utils import convert_port_bindings

    assert convert_port_bindings(container.ports) == {f"{DOTNET_GATEWAY_PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}


def test_make_image_sends_the_prepared_context() -> None:
    plan = build_plan(PYTHON_HOST_DIR)
    with plan.context_archive() as archive:
        image = make_image(plan, archive, OFFLINE_CLIENT)
        assert isinstance(image, DockerImage)
        assert image.tag == plan.tag
        assert image._dockerfile_path == "docker/python-host/Dockerfile"
        assert image.clean_up is False, "images are kept so the next run builds from cache"
        assert image._kwargs["custom_context"] is True and image._kwargs["fileobj"] is archive


def test_exposed_port_takes_the_single_tcp_port() -> None:
    assert exposed_port({"Config": {"ExposedPorts": {"50051/tcp": {}}}}, "img") == 50051
    with pytest.raises(ContainerSetupError, match="exposes 0 TCP ports"):
        exposed_port({"Config": {"ExposedPorts": None}}, "img")
    with pytest.raises(ContainerSetupError, match="exposes 2 TCP ports"):
        exposed_port({"Config": {"ExposedPorts": {"1/tcp": {}, "2/tcp": {}, "3/udp": {}}}}, "img")


def test_engine_probe_gives_the_documented_one_line_reason(no_engine: str) -> None:
    with pytest.raises(TargetUnavailable) as caught:
        probe_docker_engine(timeout=2)
    reason = str(caught.value)
    assert "\n" not in reason
    assert reason.startswith(SKIP_REASON_START + no_engine) and reason.endswith(SKIP_REASON_END)


@pytest.mark.parametrize("spec", ["dotnet", "container:agentrpc-conformance/python-host:local", "build:docker/python-host"])
def test_start_without_an_engine_raises_target_unavailable_and_leaves_nothing(
    spec: str, no_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DOTNET_IMAGE_ENV, raising=False)
    target = resolve_target(spec)
    with pytest.raises(TargetUnavailable) as caught:
        target.start()
    assert str(caught.value).startswith(SKIP_REASON_START) and "\n" not in str(caught.value)
    assert target.logs() == ""
    target.stop()
    target.stop()  # idempotent


def test_stop_before_start_is_idempotent() -> None:
    target = resolve_target("build:docker/dotnet-gateway")
    target.stop()
    target.stop()
    assert target.logs() == ""


def test_log_helpers_keep_reports_readable_and_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.targets.container import _build_log_lines, cap_line, write_log_file

    assert cap_line("short") == "short"
    long = "x" * 5000
    assert cap_line(long, 100) == "x" * 100 + "... (5000 chars)"
    entries = [{"stream": "Step 1/9 : FROM x\n"}, {"stream": "\n"}, {"error": "restore failed\nNU1101"}, "junk"]
    assert _build_log_lines(entries) == ["Step 1/9 : FROM x", "restore failed", "NU1101"]
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    saved = write_log_file("dotnet", "build", ["a", "b"])
    assert saved.parent == tmp_path and saved.name.startswith("agentrpc-dotnet-build-")
    assert saved.read_text(encoding="utf-8") == "a\nb\n"


def _is_connection_failure(error: BaseException) -> bool:
    """True when the innermost cause is failing to reach the engine's socket (not a bad argument)."""
    while error.__cause__ or error.__context__:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return isinstance(error, (FileNotFoundError, ConnectionRefusedError, ConnectionError))


def test_image_build_gets_as_far_as_the_engine_call(no_engine: str) -> None:
    import requests

    plan = build_plan(PYTHON_HOST_DIR)
    with plan.context_archive() as archive:
        image = make_image(plan, archive, OFFLINE_CLIENT)
        with pytest.raises(requests.exceptions.ConnectionError) as caught:
            image.build()  # the docker SDK validated tag, dockerfile and context, then tried the socket
    assert _is_connection_failure(caught.value), repr(caught.value)


def test_container_start_gets_as_far_as_the_engine_call(no_engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests
    from testcontainers.core.config import testcontainers_config

    # Without Ryuk the first engine call is the container's own (Ryuk would need the engine first).
    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)
    container = make_container(RunPlan(image="agentrpc-conformance/dotnet-gateway:local", port=5001), 5001, OFFLINE_CLIENT)
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        container.start()
    assert _is_connection_failure(caught.value), repr(caught.value)
    container.stop()  # nothing was created: stopping is harmless
