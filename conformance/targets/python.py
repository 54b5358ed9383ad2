"""Our own host, ``agentrpc host``, started as a subprocess for the session."""

from __future__ import annotations

import sys

from conformance.targets.process import ProcessTarget


class PythonHostTarget(ProcessTarget):
    """``--target=python``: ``python -m pyruntime.cli host --address 127.0.0.1:0 --rpc-timeout 3``.

    The short RPC timeout keeps the timeout case fast; the profile declares the same value.
    """

    # Longer than the 2 s expect windows of the negative controls that send to a silent callee,
    # so the host's timeout reply can never land inside one of them; short enough to keep the run fast.
    RPC_TIMEOUT = "3"

    def __init__(self) -> None:
        command = [sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0", "--rpc-timeout", self.RPC_TIMEOUT]
        super().__init__("python", command)
