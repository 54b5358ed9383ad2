"""The pytest plugin: ``pytest conformance --target=...`` (loaded by conformance/conftest.py).

Options: --target, --tls-ca/--tls-cert/--tls-key/--tls-server-name, --payload-format, --level, --case,
--list-cases, --profile, --update-known-deviations (+ --deviation-reason), --report-dir, --conformance-jobs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.errors import ProfileError, ScenarioError
from conformance.engine.loader import load_scenarios
from conformance.engine.profile import load_profile, write_deviations
from conformance.engine.scenario import LEVELS, Scenario
from conformance.report.matrix import CompatibilityMatrix
from conformance.report.results import results_path, safe_name, write_results
from conformance.selection import CaseSelection
from conformance.session import ConformanceSession
from conformance.targets import TargetOptions, TlsSettings
from pyruntime.security.tls import TlsConfigError
from conformance.verdict import DEVIATION, FAIL, SKIP, Verdict, judge, skip_reason

_SESSION_KEY = pytest.StashKey[ConformanceSession]()
_CASES_KEY = pytest.StashKey[list[Scenario]]()
KNOWN_PROFILES = {"python", "autogen", "dotnet"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "AgentRpc conformance suite")
    group.addoption("--target", default=None, help="python | autogen | dotnet | container:IMAGE | build:PATH | HOST:PORT")
    group.addoption("--tls-ca", default=None, help="CA certificate (PEM) to verify an external target")
    group.addoption("--tls-cert", default=None, help="client certificate (PEM) for mutual TLS")
    group.addoption("--tls-key", default=None, help="client private key (PEM) for mutual TLS")
    group.addoption("--tls-server-name", default=None, help="override the TLS server name (authority)")
    group.addoption("--bearer-token", default=None, help="send 'authorization: Bearer <token>' on every call (hosts that require a token)")
    group.addoption("--payload-format", default="both", choices=["json", "protobuf", "both"], help="payload-tagged cases to run (payload-agnostic cases always run)")
    group.addoption("--level", default="informational", choices=list(LEVELS), help="least important level to run (required < recommended < informational)")
    group.addoption("--case", action="append", default=[], help="run only this case id (repeatable)")
    group.addoption("--list-cases", action="store_true", help="print case ids, level and tags, then exit")
    group.addoption("--profile", default=None, help="profile name or path to a profile .yaml (default: the target's own; 'external' for HOST:PORT)")
    group.addoption("--update-known-deviations", action="store_true", help="rewrite the profile's known_deviations from this run's failures")
    group.addoption("--deviation-reason", default=None, help="reason written for NEW entries by --update-known-deviations (required if any)")
    group.addoption("--report-dir", default="reports", help="where junit/results/matrix files go (default: reports/)")
    group.addoption("--conformance-jobs", type=int, default=8, help="cases run concurrently in one event loop (1 = one at a time)")


def _selection(config: pytest.Config) -> CaseSelection:
    return CaseSelection(
        payload_format=config.getoption("--payload-format"),
        level=config.getoption("--level"),
        case_ids=tuple(config.getoption("--case")),
    )


def _selected_cases(config: pytest.Config) -> list[Scenario]:
    if _CASES_KEY not in config.stash:
        selection = _selection(config)
        config.stash[_CASES_KEY] = [s for s in load_scenarios() if selection.accepts(s)]
    return config.stash[_CASES_KEY]


def _profile_name(config: pytest.Config, target: str) -> str:
    explicit = config.getoption("--profile")
    if explicit:
        return explicit
    if target in KNOWN_PROFILES:
        return target
    return "container" if target.startswith(("container:", "build:")) else "external"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if not config.getoption("--list-cases", default=False):
        return None
    try:
        cases = _selected_cases(config)
    except ScenarioError as error:
        print(f"error: {error}")
        return 4
    for case in cases:
        requires = ",".join(f"{k}={v}" for k, v in case.requires.items())
        print(f"{case.id:<64} {case.level:<13} {','.join(case.tags):<34} {requires}")
    print(f"{len(cases)} cases")
    return 0


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("--target", default=None)
    if target is None:
        return
    if getattr(config.option, "numprocesses", None):
        raise pytest.UsageError("the conformance suite runs its cases concurrently itself: use --conformance-jobs N, not -n")
    report_dir = Path(config.getoption("--report-dir")).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(report_dir / f"junit-{safe_name(target)}.xml")
    try:
        cases = _selected_cases(config)
        profile = load_profile(_profile_name(config, target))
        profile.check_cases(s.id for s in load_scenarios())
    except (ScenarioError, ProfileError) as error:
        raise pytest.UsageError(str(error)) from None
    if config.getoption("--update-known-deviations") and not _selection(config).is_complete:
        raise pytest.UsageError("--update-known-deviations needs a complete run: drop --case/--level/--payload-format")
    tls = None
    if any(config.getoption(o) for o in ("--tls-ca", "--tls-cert", "--tls-key", "--tls-server-name")):
        try:
            tls = TlsSettings(
                ca_cert=_path(config.getoption("--tls-ca")),
                client_cert=_path(config.getoption("--tls-cert")),
                client_key=_path(config.getoption("--tls-key")),
                server_name=config.getoption("--tls-server-name"),
            )
        except TlsConfigError as error:
            raise pytest.UsageError(f"{error} (--tls-cert and --tls-key go together)") from None
    config.stash[_SESSION_KEY] = ConformanceSession(
        target_spec=target,
        options=TargetOptions(tls=tls, bearer_token=config.getoption("--bearer-token")),
        profile=profile,
        scenarios={s.id: s for s in cases},
        report_dir=report_dir,
        jobs=config.getoption("--conformance-jobs"),
        rerun_options="".join(
            f" {flag}={config.getoption(flag)}" for flag in ("--profile", "--tls-ca", "--tls-cert", "--tls-key", "--tls-server-name")
            if config.getoption(flag)
        ),
    )


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_case" not in metafunc.fixturenames:
        return
    if metafunc.config.getoption("--target", default=None) is None:
        raise pytest.UsageError("the conformance suite needs --target (python, autogen, dotnet, container:IMAGE, build:PATH or HOST:PORT)")
    cases = _selected_cases(metafunc.config)
    metafunc.parametrize("conformance_case", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="session")
def conformance_session(request: pytest.FixtureRequest) -> Any:
    session = request.config.stash[_SESSION_KEY]
    yield session
    session.stop()


def run_case(session: ConformanceSession, case: Scenario, request: pytest.FixtureRequest) -> None:
    """The body of every conformance test item."""
    reason = skip_reason(case, session.profile)
    if reason is not None:
        if case.id in session.profile.deviations:
            _record(session, Verdict(case.id, FAIL, f"listed in known_deviations but skipped by capability ({reason}): remove the entry"))
            pytest.fail(f"{case.id} is listed in known_deviations but does not apply to this target ({reason})", pytrace=False)
        _record(session, Verdict(case.id, SKIP, reason))
        pytest.skip(reason)
    selected = [item.callspec.params["conformance_case"].id for item in request.session.items if hasattr(item, "callspec") and "conformance_case" in item.callspec.params]
    runnable = [c for c in selected if skip_reason(session.scenarios[c], session.profile) is None]
    session.run_cases(runnable)
    if session.unavailable is not None:
        listed = session.profile.deviations.get(case.id)
        detail = session.unavailable
        if listed is not None:
            detail += f"; the profile lists a known deviation ({listed.status}): {listed.reason}"
        _record(session, Verdict(case.id, SKIP, detail, deviation_status=listed.status if listed else None))
        pytest.skip(session.unavailable)
    outcome = session.outcomes[case.id]
    verdict = judge(case, outcome, session.profile)
    _record(session, verdict)
    if verdict.status == DEVIATION:
        pytest.xfail(f"known deviation ({verdict.deviation_status}): {verdict.detail}")
    if verdict.status == FAIL:
        pytest.fail(_failure_text(session, case, verdict, outcome), pytrace=False)


def _record(session: ConformanceSession, verdict: Verdict) -> None:
    session.verdicts[verdict.case_id] = verdict


def _failure_text(session: ConformanceSession, case: Scenario, verdict: Verdict, outcome: Any) -> str:
    rerun = f"pytest conformance --target={session.target_spec}{session.rerun_options} --case={case.id}"
    parts = [
        f"{case.id} [{case.level}] {case.title}",
        f"  {verdict.detail}",
        f"  scenario: {case.source}" + (f"   cites: {case.cites}" if case.cites else ""),
        "  trace:",
        "\n".join("    " + line for line in outcome.trace.format().splitlines()),
        f"  rerun just this case: {rerun}",
    ]
    logs = session.target_logs()
    if logs:
        parts += ["  target log (tail):", "\n".join("    " + line for line in logs.splitlines())]
    return "\n".join(parts)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(_SESSION_KEY, None)
    if state is None or not state.verdicts:
        return
    traces = {cid: o.trace.to_json() for cid, o in state.outcomes.items() if state.verdicts.get(cid) and state.verdicts[cid].status in (FAIL, DEVIATION)}
    write_results(
        state.report_dir,
        state.target_spec,
        state.profile.target,
        list(state.verdicts.values()),
        state.scenarios,
        traces,
        time.monotonic() - state.started,
        merge=not _selection(config).is_complete or bool(config.getoption("keyword", "")),
    )
    CompatibilityMatrix.from_report_dir(state.report_dir).write(state.report_dir)
    if config.getoption("--update-known-deviations"):
        _update_deviations(config, state)
        if config.stash.get(_UPDATE_FAILED, False):
            session.exitstatus = pytest.ExitCode.USAGE_ERROR


def _update_deviations(config: pytest.Config, state: ConformanceSession) -> None:
    failed = {cid: v.detail for cid, v in state.verdicts.items() if v.status in (DEVIATION,) or (v.status == FAIL and cid not in state.profile.deviations)}
    new = sorted(set(failed) - set(state.profile.deviations))
    reason = config.getoption("--deviation-reason")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if new and not reason:
        message = f"--update-known-deviations: {len(new)} new failing case(s) {new} need --deviation-reason \"why\"; profile NOT rewritten"
        if reporter:
            reporter.write_line(message, red=True)
        config.stash[_UPDATE_FAILED] = True
        return
    path = write_deviations(state.profile, failed, reason or "")
    if reporter:
        reporter.write_line(f"known_deviations rewritten: {path} ({len(failed)} entries, {len(new)} new)", yellow=True)


_UPDATE_FAILED = pytest.StashKey[bool]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION_KEY, None)
    if state is None or not state.verdicts:
        return
    matrix = CompatibilityMatrix.from_report_dir(state.report_dir)
    terminalreporter.section("AgentRpc compatibility matrix")
    if state.unavailable:
        terminalreporter.write_line(f"target {state.target_spec} unavailable: {state.unavailable}", yellow=True)
    for line in matrix.area_lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line("")
    for line in matrix.summary_lines():
        terminalreporter.write_line(line)
    interesting = [
        (cid, t, cell) for (cid, t), cell in sorted(matrix.cells.items()) if cell.status in (FAIL, DEVIATION)
    ]
    for cid, target, cell in interesting:
        terminalreporter.write_line(f"  {target:<10} {cell.label():<26} {cid}")
    report = state.report_dir
    terminalreporter.write_line(
        f"full matrix: {report / 'compatibility.md'}  (HTML: {report / 'compatibility.html'}; "
        f"results: {results_path(report, state.target_spec)})"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The first conformance item runs every selected case; give it the whole batch's time.
    for item in items:
        if "conformance_case" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(600))


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.getoption("--target", default=None)
    if target is None:
        return []
    state = config.stash.get(_SESSION_KEY, None)
    profile = state.profile if state else None
    return [
        f"conformance target: {target}  profile: {profile.target if profile else '?'} "
        f"({len(profile.deviations) if profile else 0} known deviations)  cases: {len(state.scenarios) if state else 0}  "
        f"payload format: {config.getoption('--payload-format')}  level >= {config.getoption('--level')}"
    ]

