"""Render the whole fixture pack in memory: every vector's files, the descriptor set, the manifest.

Nothing here reads a clock, a random source or the environment, so two renders are identical
byte for byte, and so are renders under different protobuf runtimes (the tests check both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from conformance.golden.catalogue import Vector, all_vectors
from conformance.golden.descriptors import descriptor_set_bytes, sha256_hex
from conformance.golden.encoding import (
    JSON_OPTIONS,
    binary_of,
    cloudevents_json_of,
    is_cloud_event,
    protobuf_json_of,
    stable_json,
)

# GENERATOR_VERSION is semver (fixtures/README.md, "Versioning"): major when an existing vector's
# bytes or meaning change, minor when vectors are added, patch for manifest formatting. Bump
# FORMAT_VERSION only when the manifest's structure changes incompatibly.
GENERATOR_VERSION: Final = "1.0.0"
FORMAT_VERSION: Final = 1
AUTOGEN_VERSION: Final = "0.7.5"
MANIFEST: Final = "manifest.json"
DESCRIPTOR_SET: Final = "descriptor_set.binpb"
PROTO_FILES: Final = ("cloudevent.proto", "agent_worker.proto")


@dataclass(frozen=True)
class RenderedVector:
    """The files of one vector: kind ("binary", "json", "cloudevents_json") -> (path, bytes)."""

    vector: Vector
    files: dict[str, tuple[str, bytes]]

    def entry(self) -> dict[str, Any]:
        return {
            "id": self.vector.id,
            "message_type": self.vector.message_type,
            "description": self.vector.description,
            "tags": sorted(set(self.vector.tags)),
            "files": {kind: path for kind, (path, _) in sorted(self.files.items())},
            "binary_size": len(self.files["binary"][1]),
            "unknown_fields": self.vector.has_unknown_fields,
        }


def render_vector(vector: Vector) -> RenderedVector:
    base = vector.id  # "<message full name>/<name>": one folder per message type
    binary = vector.binary if vector.binary is not None else binary_of(vector.message)
    files = {"binary": (f"{base}.binpb", binary), "json": (f"{base}.json", protobuf_json_of(vector.message))}
    if is_cloud_event(vector.message):
        files["cloudevents_json"] = (f"{base}.ce.json", cloudevents_json_of(vector.message))  # type: ignore[arg-type]
    return RenderedVector(vector, files)


def render_pack() -> dict[str, bytes]:
    """Every file of the pack, keyed by its path relative to the pack root (manifest included)."""
    rendered = [render_vector(vector) for vector in all_vectors()]
    files: dict[str, bytes] = {DESCRIPTOR_SET: descriptor_set_bytes()}
    for item in rendered:
        files.update(item.files.values())
    manifest = {
        "format_version": FORMAT_VERSION,
        "generator": {"name": "agentrpc fixtures generate", "version": GENERATOR_VERSION},
        "autogen_version": AUTOGEN_VERSION,
        "protos": {
            "files": list(PROTO_FILES),
            "descriptor_set": DESCRIPTOR_SET,
            "descriptor_set_sha256": sha256_hex(files[DESCRIPTOR_SET]),
        },
        "encodings": {
            "binary": "deterministic protobuf serialization (map entries sorted by key); unknown fields last, in the order given",
            "json": {"function": "google.protobuf.json_format.MessageToJson", "options": JSON_OPTIONS, "trailing_newline": True},
            "cloudevents_json": {
                "function": "pyruntime.wire.to_cloudevents_json",
                "type_hint_extension": "agwiretypes",
                "reformatted": {"sort_keys": True, "indent": 2, "ensure_ascii": False, "trailing_newline": True},
            },
        },
        "files": {path: sha256_hex(data) for path, data in sorted(files.items())},
        "vectors": [item.entry() for item in rendered],
    }
    files[MANIFEST] = stable_json(manifest)
    return dict(sorted(files.items()))
