"""`pytest conformance --target=dotnet` without a Docker engine: every case skips, for one stated reason.

The subprocess is pointed at a socket where no engine listens, so this checks the no-engine path on
every machine (with Docker too, where the real run is test_container_engine.py's business).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conformance.targets.container import REPO_ROOT

ENGINE_REASON = re.compile(
    r"^Docker engine not reachable \(unix://\S+: [^)]+\): the dotnet/container targets need Docker; "
    r"see README 'Running the dotnet target'$"
)


def test_suite_against_dotnet_skips_with_one_reason_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DOCKER_", "TESTCONTAINERS_"))}
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-engine.sock"
    # A fresh HOME: no ~/.testcontainers.properties (tc.host) or docker context can name a real engine.
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "--target=dotnet", "-q", "-rs", "-p", "no:cacheprovider",
         "--report-dir", str(tmp_path / "reports")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    summary = re.search(r"^(\d+) skipped in ", output, re.MULTILINE)
    assert summary and not re.search(r"\d+ (passed|failed|error|errors|xfailed|xpassed)\b", output), output[-3000:]

    skipped = re.findall(r"^SKIPPED \[(\d+)\] \S+: (.*)$", output, re.MULTILINE)
    capability = [(n, r) for n, r in skipped if r.startswith("requires ")]
    unavailable = [(n, r) for n, r in skipped if not r.startswith("requires ")]
    # Every case the profile's capabilities do not rule out is skipped for the one engine reason.
    assert len(unavailable) == 1, unavailable
    count, reason = unavailable[0]
    assert ENGINE_REASON.match(reason), reason
    assert str(tmp_path) in reason, "the reason names the endpoint that did not answer"
    assert int(count) + sum(int(n) for n, _ in capability) == int(summary.group(1))
    assert int(count) > 0
