"""Load scenario files, validate them against the JSON Schema, expand payload-format templates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance.engine.errors import ScenarioError
from conformance.engine.materialize import substitute_format
from conformance.engine.scenario import PAYLOAD_TAGS, Scenario
from conformance.locations import scenarios_dir, schema_path


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """``scenario`` or ``profile`` schema as a dict."""
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(name))


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def json_path(parts: Iterable[Any]) -> str:
    """A JSON path like ``$.steps[3].call.status``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON file."""
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_YAML_LOADER)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise ScenarioError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}") from None


def validate_document(document: Any, schema_name: str, origin: str) -> None:
    """Raise ScenarioError naming the failing JSON path of the most relevant schema error."""
    validator = _validator(schema_name)
    if validator.is_valid(document):
        return
    errors = sorted(validator.iter_errors(document), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ScenarioError(f"{origin}: {json_path(best.absolute_path)}: {best.message}{more}")


def capability_keys() -> frozenset[str]:
    """Capability keys declared in profile.schema.json."""
    return frozenset(load_schema("profile")["$defs"]["capabilities"]["properties"])


def _check_semantics(document: dict[str, Any], origin: str) -> None:
    unknown = sorted(set(document.get("requires", {})) - capability_keys())
    if unknown:
        raise ScenarioError(f"{origin}: $.requires: unknown capability key(s) {unknown}; declared: {sorted(capability_keys())}")
    peers = document["peers"]
    for name, peer in peers.items():
        other = peer.get("same_client_as")
        if other is not None and other not in peers:
            raise ScenarioError(f"{origin}: $.peers.{name}.same_client_as: no peer named {other!r}")
    for index, step in enumerate(document["steps"]):
        kind = next(k for k in step if k != "note")
        peer = step[kind].get("peer")
        if peer not in peers:
            raise ScenarioError(f"{origin}: $.steps[{index}].{kind}.peer: no peer named {peer!r} (peers: {sorted(peers)})")
    payload_tags = [t for t in document["tags"] if t in PAYLOAD_TAGS]
    if "formats" in document:
        if payload_tags:
            raise ScenarioError(f"{origin}: $.tags: a `formats` template must not carry a payload tag {payload_tags}")
    elif len(payload_tags) != 1:
        raise ScenarioError(f"{origin}: $.tags: needs exactly one payload tag of {list(PAYLOAD_TAGS)}, found {payload_tags}")
    control = document.get("control")
    if control is not None and control["step"] >= len(document["steps"]):
        raise ScenarioError(f"{origin}: $.control.step: {control['step']} is past the last step")


def scenarios_from_document(document: Any, path: Path) -> list[Scenario]:
    """Validate one document and build its case(s) (one per format for a template)."""
    origin = str(path)
    validate_document(document, "scenario", origin)
    _check_semantics(document, origin)
    if "formats" in document:
        copies = []
        for fmt in document["formats"]:
            expanded = substitute_format({k: v for k, v in document.items() if k != "formats"}, fmt)
            expanded["id"] = f"{document['id']}.{fmt}"
            expanded["tags"] = [*document["tags"], fmt]
            copies.append(_build(expanded, path))
        return copies
    return [_build(document, path)]


def _build(document: dict[str, Any], path: Path) -> Scenario:
    payload = next(t for t in document["tags"] if t in PAYLOAD_TAGS)
    return Scenario(
        id=document["id"],
        level=document["level"],
        tags=tuple(document["tags"]),
        payload_format=payload,
        peers=document["peers"],
        steps=document["steps"],
        source=path,
        title=document.get("title", ""),
        description=document.get("description", ""),
        cites=document.get("cites", ""),
        requires=document.get("requires", {}),
        timeout=float(document.get("timeout", 10.0)),
        negative=bool(document.get("negative", False)),
        control=document.get("control"),
    )


def scenario_files(root: Path | None = None) -> list[Path]:
    root = root or scenarios_dir()
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())


def load_scenarios(root: Path | None = None) -> list[Scenario]:
    """Every case under ``root`` (default: the installed/checkout scenarios), sorted by id; ids must be unique.

    Parsed once per process and directory (validation dominates); treat the result as read-only.
    """
    return list(_load_cached(root or scenarios_dir()))


@lru_cache(maxsize=8)
def _load_cached(root: Path) -> tuple[Scenario, ...]:
    cases: list[Scenario] = []
    for path in scenario_files(root):
        cases += scenarios_from_document(read_document(path), path)
    seen: dict[str, Path] = {}
    for case in cases:
        if case.id in seen:
            raise ScenarioError(f"{case.source}: $.id: case id {case.id!r} is also used by {seen[case.id]}")
        seen[case.id] = case.source
    return tuple(sorted(cases, key=lambda c: c.id))
