"""Our own host, ``agentrpc host``, started as a subprocess for the session."""

from __future__ import annotations

import sys

from conformance.targets.process import ProcessTarget


class PythonHostTarget(ProcessTarget):
    """``--target=python``: ``python -m pyruntime.cli host --address 127.0.0.1:0``."""

    def __init__(self) -> None:
        super().__init__("python", [sys.executable, "-m", "pyruntime.cli", "host", "--address", "127.0.0.1:0"])
