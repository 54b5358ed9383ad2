"""Which cases a run selects: payload format, minimum level, explicit case ids."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.engine.scenario import LEVELS, Scenario


@dataclass(frozen=True)
class CaseSelection:
    """Filters from the command line."""

    payload_format: str = "both"  # json | protobuf | both
    level: str = "informational"  # the least important level still run
    case_ids: tuple[str, ...] = ()

    def accepts(self, scenario: Scenario) -> bool:
        if scenario.payload_format != "none" and self.payload_format != "both":
            if scenario.payload_format != self.payload_format:
                return False
        if scenario.level_rank() > LEVELS.index(self.level):
            return False
        if self.case_ids and scenario.id not in self.case_ids:
            return False
        return True

    @property
    def is_complete(self) -> bool:
        """True when nothing is filtered out (required before rewriting a deviation list)."""
        return self.payload_format == "both" and self.level == "informational" and not self.case_ids
