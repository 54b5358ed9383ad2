"""Static checks of the images under docker/: they parse, copy only what exists, pin every version,
and agree on their AgentRpc ports with the container targets. No Docker engine needed."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conformance.targets.container import (
    DOTNET_GATEWAY_DIR,
    DOTNET_GATEWAY_PORT,
    PYTHON_HOST_DIR,
    PYTHON_HOST_PORT,
    REPO_ROOT,
    build_plan,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")

DOCKERFILES = sorted((REPO_ROOT / "docker").glob("*/Dockerfile"))
# An explicit tag: a version-like component (8.0.415, 3.11.13) and never a floating alias.
PINNED_TAG = re.compile(r"^[\w.\-/]+:(\d+\.\d+\.\d+)[\w.\-]*(@sha256:[0-9a-f]{64})?$")
FLOATING = {"latest", "lts", "stable", "current"}


def _parse(dockerfile: Path) -> DockerfileParser:
    return DockerfileParser(str(dockerfile))


def _instructions(dockerfile: Path, name: str) -> list[str]:
    return [i["value"] for i in _parse(dockerfile).structure if i["instruction"] == name]


def _copy_sources(value: str) -> tuple[list[str], bool]:
    """(sources, from_stage) of a COPY/ADD value; the last word is the destination."""
    words = value.split()
    flags = [w for w in words if w.startswith("--")]
    paths = [w for w in words if not w.startswith("--")]
    if paths and paths[0].startswith("["):  # JSON form
        import json

        paths = json.loads(" ".join(paths))
    return paths[:-1], any(f.startswith("--from=") for f in flags)


def test_the_two_images_exist() -> None:
    names = {p.parent.name for p in DOCKERFILES}
    assert {"dotnet-gateway", "python-host"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_parses_and_pins_every_base_image(dockerfile: Path) -> None:
    parsed = _parse(dockerfile)
    stages = {line.split(" AS ")[-1].strip().lower() for line in _instructions(dockerfile, "FROM") if " AS " in line.upper()}
    assert parsed.parent_images, "no FROM instruction"
    for image in parsed.parent_images:
        if image.lower() in stages:
            continue  # FROM <earlier stage>
        assert "$" not in image, f"{image}: base images are written out, not taken from ARGs"
        tag = image.split("@")[0].rsplit(":", 1)[-1] if ":" in image.split("@")[0].split("/")[-1] else ""
        assert tag and tag.lower() not in FLOATING, f"{image}: no explicit tag"
        assert PINNED_TAG.match(image), f"{image}: tag is not an exact version (x.y.z...)"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_uses_no_buildkit_only_syntax(dockerfile: Path) -> None:
    # The suite builds with the docker SDK, which drives the classic builder.
    for instruction in _parse(dockerfile).structure:
        if instruction["instruction"] == "COMMENT":
            continue
        value = instruction["value"]
        assert "--mount=" not in value and "--link" not in value, instruction["content"]
        assert "<<" not in value, f"heredoc: {instruction['content']}"
    first = dockerfile.read_text(encoding="utf-8").splitlines()[0]
    assert not first.lower().startswith("# syntax="), "a syntax directive needs BuildKit"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_copy_source_is_in_the_build_context(dockerfile: Path) -> None:
    plan = build_plan(dockerfile)
    shipped = plan.context_files()
    copies = _instructions(dockerfile, "COPY") + _instructions(dockerfile, "ADD")
    assert copies
    for value in copies:
        sources, from_stage = _copy_sources(value)
        if from_stage:
            continue
        for source in sources:
            assert not re.match(r"^[a-z]+://", source), f"{source}: no remote sources"
            relative = source.rstrip("/").removeprefix("./")
            assert (plan.context / relative).exists(), f"COPY {source}: missing from {plan.context}"
            assert relative in shipped, f"COPY {source}: excluded by {plan.ignore_file}"


def test_dotnet_gateway_is_multi_stage_sdk_then_aspnet_runtime() -> None:
    images = _parse(DOTNET_GATEWAY_DIR / "Dockerfile").parent_images
    assert len(images) >= 2
    assert images[0].startswith("mcr.microsoft.com/dotnet/sdk:")
    assert images[-1].startswith("mcr.microsoft.com/dotnet/aspnet:")
    copies_from_build = [v for v in _instructions(DOTNET_GATEWAY_DIR / "Dockerfile", "COPY") if "--from=build" in v]
    assert copies_from_build, "the runtime stage must take the published app from the build stage"
    # SDK and runtime belong to the same .NET release line.
    sdk = Version(images[0].split(":")[1].split("-")[0])
    runtime = Version(images[-1].split(":")[1].split("-")[0])
    assert (sdk.major, sdk.minor) == (runtime.major, runtime.minor)


def test_dotnet_gateway_package_references_are_exact_versions() -> None:
    project = ET.parse(DOTNET_GATEWAY_DIR / "AgentRpcGateway.csproj").getroot()
    references = project.findall(".//PackageReference")
    assert any(r.get("Include") == "Microsoft.AutoGen.RuntimeGateway.Grpc" for r in references)
    for reference in references:
        version = reference.get("Version") or ""
        # NuGet: a bare version is a minimum; [x] is exactly x.
        assert re.fullmatch(r"\[\d+\.\d+\.\d+(-[0-9A-Za-z.\-]+)?\]", version), (
            f"{reference.get('Include')}: Version={version!r} is not an exact [x.y.z] pin"
        )
    framework = project.find(".//TargetFramework")
    assert framework is not None and framework.text == "net8.0"
    config = ET.parse(DOTNET_GATEWAY_DIR / "NuGet.config").getroot()
    sources = config.find("packageSources")
    assert sources is not None and sources[0].tag == "clear", "restore only from the listed feed"


def test_dotnet_gateway_port_agrees_everywhere() -> None:
    exposed = _instructions(DOTNET_GATEWAY_DIR / "Dockerfile", "EXPOSE")
    assert exposed == [str(DOTNET_GATEWAY_PORT)]
    program = (DOTNET_GATEWAY_DIR / "Program.cs").read_text(encoding="utf-8")
    constant = re.search(r"const int AgentRpcPort = (\d+);", program)
    assert constant and int(constant.group(1)) == DOTNET_GATEWAY_PORT
    # The endpoint is HTTP/2 only (h2c), on that constant.
    assert re.search(r"ListenAnyIP\(AgentRpcPort,.*HttpProtocols\.Http2\)", program)
    assert "AddAgentService()" in program and "MapAgentService(" in program
    entrypoint = _instructions(DOTNET_GATEWAY_DIR / "Dockerfile", "ENTRYPOINT")
    assert entrypoint and "AgentRpcGateway.dll" in entrypoint[-1]
    assert ET.parse(DOTNET_GATEWAY_DIR / "AgentRpcGateway.csproj").getroot().findtext(".//AssemblyName") == "AgentRpcGateway"


def test_python_host_port_agrees_with_its_command() -> None:
    dockerfile = PYTHON_HOST_DIR / "Dockerfile"
    assert _instructions(dockerfile, "EXPOSE") == [str(PYTHON_HOST_PORT)]
    parsed = _parse(dockerfile)
    assert _instructions(dockerfile, "ENTRYPOINT") == ['["agentrpc", "host"]']
    assert _instructions(dockerfile, "CMD") == [f'["--address", "0.0.0.0:{PYTHON_HOST_PORT}"]']
    assert parsed.labels.get("org.agentrpc.build-context") == "../.."


def _pinned_requirements() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (PYTHON_HOST_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][0-9A-Za-z.\-+]*)", line)
        assert match, f"requirements.txt: {line!r} is not pinned as name==version"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_python_host_installs_only_pinned_packages() -> None:
    runs = " && ".join(_instructions(PYTHON_HOST_DIR / "Dockerfile", "RUN"))
    installs = re.findall(r"pip install ([^&;]+)", runs)
    assert installs
    for arguments in installs:
        words = arguments.split()
        assert "--no-deps" in words, f"pip install {arguments}: dependencies come from requirements.txt only"
        targets = [w for w in words if not w.startswith("-") and w != "requirements.txt"]
        assert targets in ([], ["."]), f"pip install {arguments}: install the pinned file or the context"
    pins = _pinned_requirements()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for spec in project["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"pyproject dependency {requirement.name} is not pinned in requirements.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} does not satisfy pyproject's {spec!r}"
        )
    for spec in project["build-system"]["requires"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins and requirement.specifier.contains(pins[name]), f"build backend {spec} not pinned"


def _dependency_closure(names: list[str]) -> set[str]:
    """Every distribution the named ones need at runtime, from the tested environment's metadata."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = canonicalize_name(stack.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                stack.append(requirement.name)
    return seen


def test_python_host_requirements_cover_the_dependency_closure_and_the_imports() -> None:
    pins = _pinned_requirements()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    roots = [Requirement(spec).name for spec in project["project"]["dependencies"]]
    missing = _dependency_closure(roots) - set(pins)
    assert not missing, f"runtime dependencies not pinned in requirements.txt: {sorted(missing)}"
    # Every third-party module that the host's own modules import unconditionally (at module level or
    # inside functions) must come from a pinned distribution. The host's modules are those that
    # `agentrpc host` loads; optional tools (the autogen demo editor, the stub generator) are not.
    providers = importlib.metadata.packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    for path in _host_module_files():
        for module in _required_imports(ast.parse(path.read_text(encoding="utf-8"))):
            top = module.split(".")[0]
            if top in stdlib or top in ("pyruntime", "__future__"):
                continue
            distributions = {canonicalize_name(d) for d in providers.get(top, [])}
            assert distributions & set(pins), f"{path.relative_to(REPO_ROOT)} imports {module}: not in requirements.txt"


def _host_module_files() -> list[Path]:
    """Source files of the pyruntime modules that importing the `agentrpc host` command loads."""
    probe = (
        "import sys, pyruntime.cli, pyruntime.host.command\n"
        "print('\\n'.join(sorted(m.__file__ for n, m in list(sys.modules.items())"
        " if n.split('.')[0] == 'pyruntime' and getattr(m, '__file__', None))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    files = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    assert any(f.name == "server.py" for f in files), "the probe did not load the host"
    return files


def _required_imports(tree: ast.AST) -> list[str]:
    """Absolute imports outside ``try: ... except ImportError`` blocks (those are optional by design)."""
    found: list[str] = []

    def visit(node: ast.AST, optional: bool) -> None:
        if isinstance(node, ast.Try):
            catches = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            guarded = bool(catches & {"ImportError", "ModuleNotFoundError"})
            for child in node.body:
                visit(child, optional or guarded)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, optional)
            return
        if not optional:
            if isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child, optional)

    visit(tree, False)
    return found


def test_python_host_context_is_an_allow_list() -> None:
    plan = build_plan(PYTHON_HOST_DIR)
    assert plan.context == REPO_ROOT
    assert plan.ignore_file == PYTHON_HOST_DIR / "Dockerfile.dockerignore"
    shipped = plan.context_files()
    assert "pyproject.toml" in shipped and "pyruntime/cli.py" in shipped
    for unwanted in (".venv", ".git", "tests", "conformance", "reports"):
        assert not any(p == unwanted or p.startswith(unwanted + "/") for p in shipped), unwanted
    assert not any("__pycache__" in p for p in shipped)


def _csharp_tree(source: bytes):  # type: ignore[no-untyped-def]
    tree_sitter = pytest.importorskip("tree_sitter", reason="C# syntax check needs tree-sitter (pip install tree-sitter)")
    grammar = pytest.importorskip(
        "tree_sitter_c_sharp", reason="C# syntax check needs tree-sitter-c-sharp (pip install tree-sitter-c-sharp)"
    )
    return tree_sitter.Parser(tree_sitter.Language(grammar.language())).parse(source)


def _walk(node):  # type: ignore[no-untyped-def]
    yield node
    for child in node.children:
        yield from _walk(child)


def test_gateway_program_is_valid_csharp_that_hosts_the_gateway_on_the_port() -> None:
    """No .NET SDK here: a C# grammar at least proves Program.cs parses and wires what it claims."""
    source = (DOTNET_GATEWAY_DIR / "Program.cs").read_bytes()
    tree = _csharp_tree(source)
    broken = [n.start_point for n in _walk(tree.root_node) if n.type == "ERROR" or n.is_missing]
    assert not tree.root_node.has_error and not broken, f"C# syntax errors at (row, column) {broken}"

    def text(node) -> str:  # type: ignore[no-untyped-def]
        return source[node.start_byte:node.end_byte].decode()

    usings = {text(n.children[1]) for n in _walk(tree.root_node) if n.type == "using_directive"}
    assert {"Microsoft.AutoGen.RuntimeGateway.Grpc", "Microsoft.AspNetCore.Server.Kestrel.Core"} <= usings
    constants = {
        text(d.child_by_field_name("name")): text(d.children[-1])
        for n in _walk(tree.root_node)
        if n.type == "local_declaration_statement" and any(m.type == "modifier" and text(m) == "const" for m in n.children)
        for d in _walk(n) if d.type == "variable_declarator"
    }
    assert constants.get("AgentRpcPort") == str(DOTNET_GATEWAY_PORT), constants
    calls = {}
    for node in _walk(tree.root_node):
        if node.type == "invocation_expression":
            function = node.child_by_field_name("function")
            name = text(function).rsplit(".", 1)[-1]
            calls.setdefault(name, []).append(text(node.child_by_field_name("arguments")))
    assert "AddAgentService" in calls and "MapAgentService" in calls and "RunAsync" in calls
    listen = calls.get("ListenAnyIP", [])
    assert len(listen) == 1 and listen[0].startswith("(AgentRpcPort,") and "HttpProtocols.Http2" in listen[0], listen
