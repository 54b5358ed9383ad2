"""The four stacks under test: which host and which worker runtime each uses.

Host and endpoint implementations are imported lazily: the autogen ones need autogen-ext, which
the "latest grpcio" environment does not have.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stack:
    name: str
    host: str  # "ours" | "autogen" | "raw"
    worker: str  # "ours" | "autogen" | "raw" | "raw-registering"
    label: str

    @property
    def needs_autogen(self) -> bool:
        return "autogen" in (self.host, self.worker)


STACKS: dict[str, Stack] = {
    s.name: s
    for s in (
        Stack("ours", "ours", "ours", "our host + our workers"),
        Stack("autogen", "autogen", "autogen", "autogen host + autogen workers"),
        Stack("ours-host+autogen", "ours", "autogen", "our host + autogen workers"),
        Stack("raw", "raw", "raw", "raw grpc.aio forwarder (practical limit)"),
        # Diagnostic, not in the default run: isolates our host's cost from our worker's.
        Stack("ours-host+raw", "ours", "raw-registering", "our host + raw stream clients"),
    )
}
DEFAULT_STACKS = ["ours", "autogen", "ours-host+autogen", "raw"]

GRPC_SIZE_OPTIONS = [
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
    ("grpc.max_send_message_length", 8 * 1024 * 1024),
]
