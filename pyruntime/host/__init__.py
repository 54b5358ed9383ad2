"""The AgentRpc host: a hub that AutoGen gRPC workers (Python or .NET) connect to.

    async with AgentRpcHost("127.0.0.1:0", HostOptions(rpc_timeout=5)) as host:
        print(host.address)

or from a shell: ``agentrpc host --address 127.0.0.1:50051``.
"""

from pyruntime.host.control import MalformedDestinationError
from pyruntime.host.errors import (
    AgentTypeConflictError,
    DuplicateSubscriptionError,
    HostError,
    HostShuttingDownError,
    InvalidRequestError,
    MissingClientIdError,
    SubscriptionNotFoundError,
    SubscriptionOwnershipError,
)
from pyruntime.host.options import HostConfigError, HostOptions
from pyruntime.host.routing import RoutingTable
from pyruntime.host.server import AgentRpcHost, HostStartError
from pyruntime.host.stats import HostStats

__all__ = [
    "AgentRpcHost",
    "AgentTypeConflictError",
    "DuplicateSubscriptionError",
    "HostConfigError",
    "HostError",
    "HostOptions",
    "HostShuttingDownError",
    "HostStartError",
    "HostStats",
    "InvalidRequestError",
    "MalformedDestinationError",
    "MissingClientIdError",
    "RoutingTable",
    "SubscriptionNotFoundError",
    "SubscriptionOwnershipError",
]
