"""A host that is already running somewhere the suite can reach."""

from __future__ import annotations

from conformance.targets.base import Endpoint, Target, TlsSettings
from conformance.targets.readiness import wait_until_serving


class ExternalTarget(Target):
    """``HOST:PORT``: nothing is started or stopped; the profile is ``external`` unless one is named."""

    name = "external"

    def __init__(self, address: str, tls: TlsSettings | None = None, bearer_token: str | None = None) -> None:
        self._endpoint = Endpoint(address=address, tls=tls, bearer_token=bearer_token)

    def start(self) -> Endpoint:
        wait_until_serving(self._endpoint, timeout=10.0)
        return self._endpoint

    def stop(self) -> None:
        return None
