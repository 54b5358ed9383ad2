"""The manifest: schema, hashes, provenance, and what the vectors cover."""

from __future__ import annotations

import hashlib
import json

import jsonschema
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from conformance.golden.descriptors import descriptor_set_bytes
from tests.golden.committed_pack import PACK, SCHEMA, manifest, vectors
from tests.wire.message_samples import all_message_descriptors

MAX_PACK_BYTES = 5 * 1024 * 1024


def test_manifest_matches_its_schema() -> None:
    schema = json.loads(SCHEMA.read_bytes())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(manifest(), schema)


def test_every_file_hash_and_nothing_unlisted() -> None:
    listed = manifest()["files"]
    on_disk = {p.relative_to(PACK).as_posix() for p in PACK.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for path, digest in listed.items():
        assert hashlib.sha256((PACK / path).read_bytes()).hexdigest() == digest, path
    for vector in vectors():
        for path in vector.entry["files"].values():
            assert path in listed


def test_provenance() -> None:
    data = manifest()
    assert data["autogen_version"] == "0.7.5"
    protos = data["protos"]
    assert protos["files"] == ["cloudevent.proto", "agent_worker.proto"]
    recorded = (PACK / protos["descriptor_set"]).read_bytes()
    assert recorded == descriptor_set_bytes()
    assert hashlib.sha256(recorded).hexdigest() == protos["descriptor_set_sha256"]


def test_pack_size_stays_reasonable() -> None:
    total = sum(p.stat().st_size for p in PACK.rglob("*") if p.is_file())
    assert total < MAX_PACK_BYTES


def test_sizes_of_the_large_vectors() -> None:
    sizes = {v.id: v.entry["binary_size"] for v in vectors()}
    assert sizes["agents.Message/request-near-1mib"] == 1024 * 1024 - 512
    assert sizes["io.cloudevents.v1.CloudEvent/python-json-70kib"] > 64 * 1024
    assert sizes["agents.RpcRequest/protobuf-70kib"] > 64 * 1024


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf 5 has only .label; newer runtimes only .is_repeated
    flag = getattr(field, "is_repeated", None)
    return bool(flag) if flag is not None else field.label == FieldDescriptor.LABEL_REPEATED


def _walk(message: Message, seen_fields: set[str]) -> None:
    for field, value in message.ListFields():
        seen_fields.add(field.full_name)
        if field.message_type is None or field.message_type.full_name == "google.protobuf.Any":
            continue
        if field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.message_type is not None:
                for item in value.values():
                    _walk(item, seen_fields)
            continue
        items = value if _is_repeated(field) else [value]
        for item in items:
            _walk(item, seen_fields)


def test_every_message_and_every_field_and_oneof_member_is_covered() -> None:
    types = {v.message_type for v in vectors()}
    seen: set[str] = set()
    for vector in vectors():
        message = vector.new_message()
        message.ParseFromString(vector.read("binary"))
        _walk(message, seen)
    descriptors: list[Descriptor] = all_message_descriptors()
    assert {d.full_name for d in descriptors} <= types
    every_field = {f.full_name for d in descriptors for f in d.fields}
    assert every_field - seen == set()


def test_both_producer_styles_and_all_data_kinds_are_present() -> None:
    from pyruntime._proto import cloudevent_pb2

    events = [v for v in vectors() if v.message_type == "io.cloudevents.v1.CloudEvent"]
    parsed = [cloudevent_pb2.CloudEvent.FromString(v.read("binary")) for v in events]
    assert {e.WhichOneof("data") for e in parsed} == {"binary_data", "text_data", "proto_data", None}
    assert any(e.spec_version == "1.0" and "agagentsendertype" in e.attributes for e in parsed)
    assert any(e.spec_version == "" and "agagentsendertype" not in e.attributes and e.HasField("proto_data") for e in parsed)
    kinds = {value.WhichOneof("attr") for e in parsed for value in e.attributes.values()}
    assert kinds == {"ce_boolean", "ce_integer", "ce_string", "ce_bytes", "ce_uri", "ce_uri_ref", "ce_timestamp"}
    assert all(v.has("cloudevents_json") for v in events)
    assert not any(v.has("cloudevents_json") for v in vectors() if v.message_type != "io.cloudevents.v1.CloudEvent")


def test_unknown_field_vectors_really_carry_unknown_fields() -> None:
    flagged = [v for v in vectors() if v.unknown_fields]
    assert len(flagged) >= 3
    for vector in flagged:
        message = vector.new_message()
        message.ParseFromString(vector.read("binary"))
        stripped = vector.new_message()
        stripped.CopyFrom(message)
        stripped.DiscardUnknownFields()
        assert len(stripped.SerializeToString(deterministic=True)) < len(vector.read("binary")), vector.id
