"""A loaded, validated scenario (one case)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PAYLOAD_TAGS = ("json", "protobuf", "none")
LEVELS = ("required", "recommended", "informational")


@dataclass(frozen=True)
class Scenario:
    """One case. ``steps`` and ``peers`` stay as the scenario's plain data (validated by the schema)."""

    id: str
    level: str
    tags: tuple[str, ...]
    payload_format: str  # json | protobuf | none
    peers: dict[str, dict[str, Any]]
    steps: list[dict[str, Any]]
    source: Path
    title: str = ""
    description: str = ""
    cites: str = ""
    requires: dict[str, Any] = field(default_factory=dict)
    timeout: float = 10.0
    negative: bool = False
    control: dict[str, Any] | None = None

    def with_control(self) -> "Scenario":
        """The negative-control variant: the step named by ``control`` replaced or removed."""
        if self.control is None:
            raise ValueError(f"case {self.id} has no control variant")
        steps = copy.deepcopy(self.steps)
        index = int(self.control["step"])
        if self.control.get("remove"):
            del steps[index]
        else:
            steps[index] = copy.deepcopy(self.control["replace"])
        peers = copy.deepcopy(self.peers)
        peers.update(copy.deepcopy(self.control.get("peers", {})))
        return replace(self, id=self.id + "#control", steps=steps, peers=peers)

    def level_rank(self) -> int:
        """0 = required (most important) ... 2 = informational."""
        return LEVELS.index(self.level)
