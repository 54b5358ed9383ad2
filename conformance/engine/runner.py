"""ScenarioRunner: replay one scenario against an endpoint, step by step, each under a hard time cap."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc

from conformance.engine.errors import StepFailure
from conformance.engine.matchers import match
from conformance.engine.materialize import Bindings, resolve, to_json, to_proto
from conformance.engine.peers import REQUEST_TYPES, STREAM_TYPES, Peer, StreamEnd, connect_peer, message_kind
from conformance.engine.profile import TargetProfile
from conformance.engine.scenario import Scenario
from conformance.engine.trace import Trace
from conformance.targets.base import Endpoint

DEFAULT_WITHIN = 2.0
DEFAULT_SILENCE = 0.25
DEFAULT_SETTLE = 0.02
# Slack on top of a step's own wait before the engine gives up on the step itself (the semantic
# window is `within`/`for`; the margin only absorbs a busy event loop on a loaded machine).
STEP_MARGIN = 2.0


@dataclass
class CaseOutcome:
    """The verdict of one run of one case."""

    case_id: str
    passed: bool
    duration: float
    trace: Trace
    failure: str | None = None
    failed_step: int | None = None
    notes: list[str] = field(default_factory=list)


def _codes(spec: Any) -> set[str]:
    if spec is None:
        return {"OK"}
    if isinstance(spec, dict):
        return set(spec["any_of"])
    return {spec}


def step_kind(step: dict[str, Any]) -> str:
    return next(k for k in step if k != "note")


class ScenarioRunner:
    """Runs scenarios against one endpoint, with the target's profile for capability-derived waits."""

    def __init__(self, endpoint: Endpoint, profile: TargetProfile) -> None:
        self.endpoint = endpoint
        self.profile = profile

    async def run(self, scenario: Scenario) -> CaseOutcome:
        """Run every step in order; never raises for a failing case, never exceeds ``scenario.timeout``."""
        trace = Trace()
        started = time.monotonic()
        state = _CaseState(scenario, trace, ns=f"c{uuid.uuid4().hex[:12]}")
        outcome = CaseOutcome(scenario.id, passed=False, duration=0.0, trace=trace)
        try:
            await asyncio.wait_for(self._steps(state, outcome), timeout=scenario.timeout)
            outcome.passed = outcome.failure is None
        except asyncio.TimeoutError:
            outcome.failure = outcome.failure or f"the whole case exceeded its cap of {scenario.timeout:g}s"
        except Exception as error:  # e.g. a channel that cannot be created: this case fails, the run goes on
            outcome.failure = f"engine error before the first step: {type(error).__name__}: {error}"
        finally:
            await state.shutdown()
            outcome.duration = time.monotonic() - started
        if outcome.failure:
            trace.note(f"FAILED: {outcome.failure}")
        return outcome

    async def _steps(self, state: "_CaseState", outcome: CaseOutcome) -> None:
        await state.connect(self.endpoint)
        for index, step in enumerate(state.scenario.steps):
            kind = step_kind(step)
            spec = step[kind]
            if "note" in step:
                state.trace.note(f"step {index}: {step['note']}")
            cap = self._cap(kind, spec)
            try:
                await asyncio.wait_for(getattr(self, f"_step_{kind}")(state, spec), timeout=cap)
            except StepFailure as failure:
                outcome.failure, outcome.failed_step = f"step {index} ({kind}): {failure}", index
                return
            except asyncio.TimeoutError:
                outcome.failure = f"step {index} ({kind}): no result within its hard cap of {cap:.2f}s"
                outcome.failed_step = index
                return
            except Exception as error:  # an engine or scenario bug must fail this case, not the whole run
                outcome.failure = f"step {index} ({kind}): engine error {type(error).__name__}: {error}"
                outcome.failed_step = index
                return

    # -- timing ---------------------------------------------------------------------------------

    def within(self, value: Any, default: float = DEFAULT_WITHIN) -> float:
        """A `within` value in seconds: a number, or a capability plus a margin."""
        if value is None:
            return default
        if isinstance(value, dict):
            base = self.profile.capability(value["capability"])
            if not isinstance(base, (int, float)) or isinstance(base, bool):
                raise StepFailure(f"capability {value['capability']!r} is {base!r}, not a number of seconds")
            return float(base) + float(value.get("plus", 0.0))
        return float(value)

    def _cap(self, kind: str, spec: dict[str, Any]) -> float:
        if kind == "silence":
            return float(spec.get("for", DEFAULT_SILENCE)) + STEP_MARGIN
        if kind in ("open", "close"):
            return float(spec.get("settle", DEFAULT_SETTLE)) + STEP_MARGIN + 1.0
        try:
            return self.within(spec.get("within")) + STEP_MARGIN
        except StepFailure:
            return DEFAULT_WITHIN + STEP_MARGIN

    # -- steps ----------------------------------------------------------------------------------

    async def _step_open(self, state: "_CaseState", spec: dict[str, Any]) -> None:
        peer = state.peer(spec["peer"])
        await peer.open(spec.get("stream", "channel"))
        await self._settle(peer, spec)

    async def _step_close(self, state: "_CaseState", spec: dict[str, Any]) -> None:
        peer = state.peer(spec["peer"])
        await peer.close(spec.get("stream", "channel"))
        await self._settle(peer, spec)

    @staticmethod
    async def _settle(peer: Peer, spec: dict[str, Any]) -> None:
        """The protocol has no handshake: a unary round trip on the peer's connection lets the host's
        stream handler run (a barrier that holds under load, unlike a fixed sleep), then a short pause."""
        await peer.barrier()
        await asyncio.sleep(float(spec.get("settle", DEFAULT_SETTLE)))

    async def _step_send(self, state: "_CaseState", spec: dict[str, Any]) -> None:
        stream = spec.get("stream", "channel")
        body = resolve(spec["message"], state.bindings)
        message = to_proto(body, STREAM_TYPES[stream])
        if "capture_as" in spec:
            state.bindings.captures.store(spec["capture_as"], to_json(message))
        await state.peer(spec["peer"]).send(stream, message)

    async def _step_call(self, state: "_CaseState", spec: dict[str, Any]) -> None:
        peer = state.peer(spec["peer"])
        method = spec["method"]
        wanted = _codes(spec.get("status"))
        within = self.within(spec.get("within"))
        deadline = time.monotonic() + within
        while True:
            request = to_proto(resolve(spec.get("request", {}), state.bindings), REQUEST_TYPES[method])
            remaining = max(0.05, deadline - time.monotonic())
            code, details, response = await peer.call(method, request, timeout=remaining)
            problem = self._judge_call(state, spec, wanted, code, details, response)
            if problem is None:
                return
            if not spec.get("eventually") or time.monotonic() + 0.05 >= deadline:
                raise StepFailure(f"{method} by peer {peer.name}: {problem}")
            await asyncio.sleep(0.05)  # bounded poll: the host settles state asynchronously

    def _judge_call(
        self, state: "_CaseState", spec: dict[str, Any], wanted: set[str], code: grpc.StatusCode, details: str, response: Any
    ) -> str | None:
        if code.name not in wanted:
            shown = " or ".join(sorted(wanted))
            return f"expected status {shown}, got {code.name}" + (f" ({details!r})" if details else "")
        if code == grpc.StatusCode.OK and "response" in spec and response is not None:
            mismatches = match(resolve(spec["response"], state.bindings), to_json(response), state.bindings.captures)
            if mismatches:
                return "response does not match: " + "; ".join(str(m) for m in mismatches[:3])
        return None

    async def _step_expect(self, state: "_CaseState", spec: dict[str, Any]) -> None:
        peer = state.peer(spec["peer"])
        stream = spec.get("stream", "channel")
        handle = peer.stream(stream)
        within = self.within(spec.get("within"))
        message = await _next_message(handle, within)
        if isinstance(message, StreamEnd) and "or_end" in spec and message.code.name in _codes(spec["or_end"]):
            return
        if isinstance(message, StreamEnd):
            raise StepFailure(
                f"expected a message on {peer.name}'s {stream} stream; the stream ended instead "
                f"({message.code.name} {message.details!r})"
            )
        if message is None:
            raise StepFailure(f"expected a message on {peer.name}'s {stream} stream within {within:.2f}s; nothing arrived")
        mismatches = match(resolve(spec["message"], state.bindings), to_json(message), state.bindings.captures)
        if mismatches:
            raise StepFailure(
                f"the next message on {peer.name}'s {stream} stream does not match: "
                + "; ".join(str(m) for m in mismatches[:4])
            )

    async def _step_silence(self, state: "_CaseState", spec: dict[str, Any]) -> None:
        peer = state.peer(spec["peer"])
        stream = spec.get("stream", "channel")
        handle = peer.stream(stream)
        window = float(spec.get("for", DEFAULT_SILENCE))
        message = await _next_message(handle, window)
        if isinstance(message, StreamEnd):
            if not handle.closed_by_us:
                raise StepFailure(
                    f"expected silence on {peer.name}'s {stream} stream, but the host ended it "
                    f"({message.code.name} {message.details!r})"
                )
            return
        if message is not None:
            kind = message_kind(message)
            raise StepFailure(f"expected silence on {peer.name}'s {stream} stream for {window:.2f}s; received a {kind}")

    async def _step_expect_end(self, state: "_CaseState", spec: dict[str, Any]) -> None:
        peer = state.peer(spec["peer"])
        stream = spec.get("stream", "channel")
        handle = peer.stream(stream)
        within = self.within(spec.get("within"))
        try:
            ended = await asyncio.wait_for(asyncio.shield(handle.end), timeout=within)
        except asyncio.TimeoutError:
            raise StepFailure(f"expected the host to end {peer.name}'s {stream} stream within {within:.2f}s; it stayed open") from None
        wanted = _codes(spec["status"]) if "status" in spec else None
        if wanted is None and ended.code == grpc.StatusCode.OK:
            raise StepFailure(f"expected {peer.name}'s {stream} stream to end with an error status; it ended OK")
        if wanted is not None and ended.code.name not in wanted:
            raise StepFailure(
                f"expected {peer.name}'s {stream} stream to end with {' or '.join(sorted(wanted))}; "
                f"got {ended.code.name} ({ended.details!r})"
            )


async def _next_message(handle: Any, within: float) -> Any:
    """The next queued message, the StreamEnd if the stream ended with nothing queued, or None on timeout."""
    if not handle.inbox.empty():
        return handle.inbox.get_nowait()
    getter = asyncio.ensure_future(handle.inbox.get())
    try:
        done, _ = await asyncio.wait({getter, handle.end}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getter.done():
            getter.cancel()
            await asyncio.wait({getter}, timeout=0.5)
    if getter in done and not getter.cancelled():
        return getter.result()
    if not handle.inbox.empty():
        return handle.inbox.get_nowait()
    if handle.end in done:
        return handle.end.result()
    return None


class _CaseState:
    """Peers, bindings and trace of one running case."""

    def __init__(self, scenario: Scenario, trace: Trace, ns: str) -> None:
        self.scenario = scenario
        self.trace = trace
        self.ns = ns
        self.peers: dict[str, Peer] = {}
        client_ids: dict[str, str | None] = {}
        for name, spec in scenario.peers.items():
            configured = spec.get("client_id")
            if configured is False:
                client_ids[name] = None
            elif isinstance(configured, str):
                client_ids[name] = configured.replace("${ns}", ns)
            else:
                client_ids[name] = f"{ns}-{name}"
        for name, spec in scenario.peers.items():
            if "same_client_as" in spec:
                client_ids[name] = client_ids[spec["same_client_as"]]
        self.bindings = Bindings(ns=ns, client_ids=client_ids)

    async def connect(self, endpoint: Endpoint) -> None:
        for name in self.scenario.peers:
            self.peers[name] = await connect_peer(name, self.bindings.client_ids[name], endpoint, self.trace)

    def peer(self, name: str) -> Peer:
        return self.peers[name]

    async def shutdown(self) -> None:
        await asyncio.gather(*(peer.shutdown() for peer in self.peers.values()), return_exceptions=True)
