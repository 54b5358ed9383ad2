"""Generated protobuf and gRPC code for ``protos/*.proto`` (never edit by hand).

Import the modules directly (``from pyruntime._proto import agent_worker_pb2``).
Regenerate with ``python -m pyruntime._proto._generate``; a test fails when this code is stale.
"""
