"""autogen-ext's reference host (``GrpcWorkerAgentRuntimeHost``), started as a subprocess."""

from __future__ import annotations

import importlib.util
import sys

from conformance.targets.base import Endpoint, TargetUnavailable
from conformance.targets.process import ProcessTarget


class AutogenHostTarget(ProcessTarget):
    """``--target=autogen``: runs :mod:`conformance.targets.autogen_launcher`."""

    def __init__(self) -> None:
        super().__init__("autogen", [sys.executable, "-m", "conformance.targets.autogen_launcher"])

    def start(self) -> Endpoint:
        if importlib.util.find_spec("autogen_ext") is None:
            raise TargetUnavailable("autogen-ext is not installed here (pip install 'autogen-ext[grpc]==0.7.5')")
        return super().start()
