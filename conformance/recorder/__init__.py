"""The recording proxy: capture live AgentRpc traffic and turn it into a replayable scenario.

Modules, one job each:
    recording        what was seen: ordered exchanges with relative timestamps (+ raw JSON dump)
    forwarding       which metadata crosses the proxy, and how upstream failures reach the caller
    proxy            RecordingProxy: a transparent grpc.aio proxy for the AgentRpc service
    namespacing      optional ${ns}_ prefix on agent types and topic types
    volatile         matching rules for values that change from run to run (ids, client-ids, times)
    scenario_writer  Recording -> scenario document (fixtures/schema/scenario.schema.json)
    command          ``agentrpc record``
"""

from conformance.recorder.proxy import RecordingProxy
from conformance.recorder.recording import Exchange, Recording
from conformance.recorder.scenario_writer import ScenarioWriteError, scenario_from_recording

__all__ = ["Exchange", "Recording", "RecordingProxy", "ScenarioWriteError", "scenario_from_recording"]
