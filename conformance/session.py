"""One conformance session: the target, its profile, the selected cases and their verdicts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance.engine.profile import TargetProfile
from conformance.engine.runner import CaseOutcome, ScenarioRunner
from conformance.engine.scenario import Scenario
from conformance.targets import Target, TargetOptions, TargetUnavailable, resolve_target
from conformance.targets.base import Endpoint
from conformance.verdict import Verdict

EXCLUSIVE_TAG = "exclusive"


@dataclass
class ConformanceSession:
    """Starts the target once, runs the selected cases (concurrently, in one event loop), keeps verdicts."""

    target_spec: str
    options: TargetOptions
    profile: TargetProfile
    scenarios: dict[str, Scenario]
    report_dir: Path
    jobs: int = 8
    rerun_options: str = ""  # options a rerun command must repeat (e.g. --profile=...)
    target: Target | None = None
    endpoint: Endpoint | None = None
    unavailable: str | None = None
    outcomes: dict[str, CaseOutcome] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _ran: bool = False

    def start_target(self) -> None:
        """Start the target (once); a TargetUnavailable becomes the skip reason of every case."""
        if self.target is not None or self.unavailable is not None:
            return
        try:
            self.target = resolve_target(self.target_spec, self.options)
            self.endpoint = self.target.start()
        except TargetUnavailable as error:
            self.unavailable = str(error).splitlines()[0] if str(error) else "target unavailable"
        except ImportError as error:
            self.unavailable = f"target {self.target_spec!r} is not available in this installation: {error}"

    def run_cases(self, case_ids: list[str]) -> None:
        """Run every given case once (the first test triggers this for all selected tests)."""
        if self._ran:
            return
        self._ran = True
        self.start_target()
        if self.endpoint is None:
            return
        asyncio.run(self._run_all([self.scenarios[c] for c in case_ids]))

    async def _run_all(self, cases: list[Scenario]) -> None:
        assert self.endpoint is not None
        runner = ScenarioRunner(self.endpoint, self.profile)
        gate = asyncio.Semaphore(max(1, self.jobs))

        async def one(case: Scenario) -> None:
            async with gate:
                self.outcomes[case.id] = await runner.run(case)

        # Cases tagged `exclusive` (multi-megabyte frames) run alone first: building and writing their
        # frames holds the event loop long enough to distort the timing windows of concurrent cases.
        for case in [c for c in cases if EXCLUSIVE_TAG in c.tags]:
            self.outcomes[case.id] = await runner.run(case)
        # runner.run never raises for a failing case, so gather owns and awaits every task.
        await asyncio.gather(*(one(case) for case in cases if EXCLUSIVE_TAG not in case.tags))

    def stop(self) -> None:
        if self.target is not None:
            self.target.stop()

    def target_logs(self, lines: int = 30) -> str:
        if self.target is None:
            return ""
        return "\n".join(self.target.logs().splitlines()[-lines:])
