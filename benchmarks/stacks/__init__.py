"""The four stacks under test: which host and which worker runtime each uses.

Host and endpoint implementations are imported lazily: the autogen ones need autogen-ext, which
the "latest grpcio" environment does not have.
"""

from __future__ import annotations

from dataclasses import dataclass


# Event loops (pyruntime.event_loop): "auto" = uvloop when installed, as `agentrpc host` / `agentrpc
# worker` run; "asyncio" = the standard loop, as autogen-ext's host and workers run under asyncio.run.
# The raw forwarder gets the faster loop too, so "ours ÷ raw" compares against the strictest limit.
AUTO, ASYNCIO = "auto", "asyncio"


@dataclass(frozen=True)
class Stack:
    name: str
    host: str  # "ours" | "autogen" | "raw"
    worker: str  # "ours" | "autogen" | "raw" | "raw-registering"
    label: str
    host_loop: str = AUTO
    worker_loop: str = AUTO

    @property
    def needs_autogen(self) -> bool:
        return "autogen" in (self.host, self.worker)


STACKS: dict[str, Stack] = {
    s.name: s
    for s in (
        Stack("ours", "ours", "ours", "our host + our workers"),
        Stack("autogen", "autogen", "autogen", "autogen host + autogen workers", ASYNCIO, ASYNCIO),
        Stack("ours-host+autogen", "ours", "autogen", "our host + autogen workers", AUTO, ASYNCIO),
        Stack("raw", "raw", "raw", "raw grpc.aio forwarder (practical limit)"),
        # Diagnostics, not in the default run: our host's cost apart from our worker's, and how
        # much of a difference the event loop alone makes to each side.
        Stack("ours-host+raw", "ours", "raw-registering", "our host + raw stream clients"),
        Stack("ours-asyncio", "ours", "ours", "our host + our workers on asyncio's loop", ASYNCIO, ASYNCIO),
        Stack("autogen-uvloop", "autogen", "autogen", "autogen host + autogen workers on uvloop"),
    )
}
DEFAULT_STACKS = ["ours", "autogen", "ours-host+autogen", "raw"]

GRPC_SIZE_OPTIONS = [
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
    ("grpc.max_send_message_length", 8 * 1024 * 1024),
]
