"""Golden wire vectors: deterministic fixtures of every AgentRpc message, for implementers in any language.

Modules, one job each:
    payloads     the sample payload bodies (dataclass JSON exactly as AutoGen writes it, protobuf Any)
    catalogue    the list of vectors: one named, described message per case
    encoding     the canonical renderings of one message (binary, protobuf JSON, CloudEvents JSON)
    descriptors  the FileDescriptorSet of the two contract files
    pack         renders the whole fixture pack (files + manifest) in memory
    compare      differences between a rendered pack and a directory on disk
    command      ``agentrpc fixtures generate|check``
"""

from conformance.golden.catalogue import Vector, all_vectors
from conformance.golden.pack import AUTOGEN_VERSION, GENERATOR_VERSION, render_pack

__all__ = ["AUTOGEN_VERSION", "GENERATOR_VERSION", "Vector", "all_vectors", "render_pack"]
