"""The contracts are AutoGen's: same descriptors, same bytes both ways, generated code current."""

from __future__ import annotations

import importlib.util

import pytest
from google.protobuf import descriptor_pb2, symbol_database

from pyruntime._proto import _generate, agent_worker_pb2, cloudevent_pb2
from tests.wire.message_samples import all_message_descriptors, variants

autogen_protos = pytest.importorskip(
    "autogen_ext.runtimes.grpc.protos", reason="autogen-ext[grpc]==0.7.5 is not installed in this environment"
) if importlib.util.find_spec("autogen_ext") else None


def _file_proto(module) -> bytes:
    proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(proto)
    return proto.SerializeToString()


def test_contract_facts() -> None:
    assert agent_worker_pb2.DESCRIPTOR.package == "agents"
    assert cloudevent_pb2.DESCRIPTOR.package == "io.cloudevents.v1"
    assert agent_worker_pb2.DESCRIPTOR.GetOptions().csharp_namespace == "Microsoft.AutoGen.Protobuf"
    assert cloudevent_pb2.DESCRIPTOR.GetOptions().csharp_namespace == "Microsoft.AutoGen.Contracts"
    service = agent_worker_pb2.DESCRIPTOR.services_by_name["AgentRpc"]
    assert [m.name for m in service.methods] == [
        "OpenChannel", "OpenControlChannel", "RegisterAgent", "AddSubscription", "RemoveSubscription", "GetSubscriptions",
    ]


def test_generated_code_is_current() -> None:
    found = _generate.installed_generator_version()
    if found != _generate.PINNED_GRPCIO_TOOLS:
        pytest.skip(f"staleness needs grpcio-tools {_generate.PINNED_GRPCIO_TOOLS} (found {found}); checked in .venv")
    assert _generate.stale_files() == [], "run: python -m pyruntime._proto._generate"


def test_staleness_check_detects_an_edit(tmp_path) -> None:
    """Negative control: a changed proto makes the check report stale files."""
    found = _generate.installed_generator_version()
    if found != _generate.PINNED_GRPCIO_TOOLS:
        pytest.skip(f"staleness needs grpcio-tools {_generate.PINNED_GRPCIO_TOOLS} (found {found}); checked in .venv")
    for name in _generate.PROTO_FILES:
        text = (_generate.DEFAULT_PROTO_DIR / name).read_text()
        if name == "agent_worker.proto":
            text = text.replace("string method = 4;", "string method = 4;\n  string extra = 7;")
        (tmp_path / name).write_text(text)
    assert "agent_worker_pb2.py" in _generate.stale_files(proto_dir=tmp_path)


@pytest.mark.autogen
@pytest.mark.parametrize("name", ["cloudevent_pb2", "agent_worker_pb2"])
def test_descriptors_match_autogen_byte_for_byte(name: str) -> None:
    from autogen_ext.runtimes.grpc import protos as ag

    ours = {"cloudevent_pb2": cloudevent_pb2, "agent_worker_pb2": agent_worker_pb2}[name]
    theirs = getattr(__import__(f"{ag.__name__}.{name}", fromlist=["DESCRIPTOR"]), "DESCRIPTOR")
    proto = descriptor_pb2.FileDescriptorProto()
    theirs.CopyToProto(proto)
    assert _file_proto(ours) == proto.SerializeToString()


def _autogen_class(full_name: str):
    from autogen_ext.runtimes.grpc.protos import agent_worker_pb2 as ag_aw, cloudevent_pb2 as ag_ce

    for module in (ag_aw, ag_ce):
        try:
            return symbol_database.Default().GetPrototype(module.DESCRIPTOR.pool.FindMessageTypeByName(full_name))
        except KeyError:
            continue
    raise KeyError(full_name)


def _our_class(full_name: str):
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(agent_worker_pb2.DESCRIPTOR.pool.FindMessageTypeByName(full_name))


@pytest.mark.autogen
@pytest.mark.parametrize("descriptor", all_message_descriptors(), ids=lambda d: d.full_name)
def test_every_message_crosses_between_libraries(descriptor) -> None:
    from autogen_ext.runtimes.grpc.protos import agent_worker_pb2 as ag_aw, cloudevent_pb2 as ag_ce

    ag_modules = {"agents": ag_aw, "io.cloudevents.v1": ag_ce}
    ours_cls = _our_class(descriptor.full_name)
    package = descriptor.file.package
    # Resolve autogen's class through its own module namespace (nested types via attributes).
    theirs_cls = ag_modules[package]
    for part in descriptor.full_name[len(package) + 1:].split("."):
        theirs_cls = getattr(theirs_cls, part)
    for sample in variants(ours_cls):
        wire = sample.SerializeToString(deterministic=True)
        theirs = theirs_cls.FromString(wire)
        assert theirs.SerializeToString(deterministic=True) == wire
        assert ours_cls.FromString(theirs.SerializeToString(deterministic=True)) == sample
        assert theirs.ListFields() or not descriptor.fields, "sample must not be empty"
        # The module classes above share the default pool with ours (identical files dedupe), so
        # also cross through classes built in a separate pool from autogen's embedded descriptor bytes.
        isolated_cls = _isolated_autogen_pool_class(descriptor.full_name)
        assert isolated_cls is not ours_cls
        isolated = isolated_cls.FromString(wire)
        assert isolated.SerializeToString(deterministic=True) == wire
        assert ours_cls.FromString(isolated.SerializeToString(deterministic=True)) == sample


_ISOLATED = {}


def _isolated_autogen_pool_class(full_name: str):
    from google.protobuf import any_pb2, descriptor_pool, message_factory, timestamp_pb2
    from autogen_ext.runtimes.grpc.protos import agent_worker_pb2 as ag_aw, cloudevent_pb2 as ag_ce

    if "pool" not in _ISOLATED:
        pool = descriptor_pool.DescriptorPool()
        for module in (any_pb2, timestamp_pb2, ag_ce, ag_aw):
            pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
        _ISOLATED["pool"] = pool
    return message_factory.GetMessageClass(_ISOLATED["pool"].FindMessageTypeByName(full_name))
