"""pyruntime.event_loop: choosing uvloop or asyncio's loop, and a real host + worker on each.

These tests call ``run`` themselves (plain functions, not pytest-asyncio tests), because the
point is which loop ``run`` creates.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import warnings

import pytest

from pyruntime import AgentId, AgentRpcHost, GrpcWorkerRuntime, TopicId
from pyruntime import event_loop
from pyruntime.event_loop import EventLoopUnavailableError, resolve, run

from . import messages
from .messages import Answer, Ask, EchoAgent, Note

needs_uvloop = pytest.mark.skipif(not event_loop.uvloop_available(), reason="uvloop is not installed here")


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_resolve_prefers_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV_VAR, "asyncio")
    assert resolve() == "asyncio"
    assert resolve("asyncio") == "asyncio"
    monkeypatch.setenv(event_loop.ENV_VAR, "AUTO ")
    assert resolve() == ("uvloop" if event_loop.uvloop_available() else "asyncio")


def test_unknown_choice_names_the_choices_and_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV_VAR, "trio")
    with pytest.raises(ValueError, match=r"unknown event loop 'trio'.*auto, uvloop, asyncio.*AGENTRPC_EVENT_LOOP"):
        resolve()
    with pytest.raises(ValueError, match=r"--event-loop"):
        resolve("gevent")


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV_VAR, raising=False)
    monkeypatch.setattr(event_loop, "uvloop_available", lambda: False)
    assert resolve() == "asyncio"
    assert run(_loop_module()).startswith("asyncio")
    coroutine = _loop_module()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would fail here
        with pytest.raises(EventLoopUnavailableError, match="pip install uvloop"):
            run(coroutine, event_loop="uvloop")
    assert coroutine.cr_frame is None  # closed, not left dangling


def test_asyncio_choice_runs_the_standard_loop() -> None:
    assert run(_loop_module(), event_loop="asyncio").startswith("asyncio")


@needs_uvloop
def test_auto_runs_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV_VAR, raising=False)
    assert run(_loop_module()) == "uvloop"
    # run() leaves no global policy behind: plain asyncio.run still gets asyncio's loop.
    assert asyncio.run(_loop_module()).startswith("asyncio")


async def _host_and_worker_round_trip() -> tuple[str, Answer, list[tuple[str, object]]]:
    messages.RECORDER = messages.Recorder()
    async with AgentRpcHost("127.0.0.1:0") as host:
        address = f"127.0.0.1:{host.port}"
        callee = GrpcWorkerRuntime(address, rpc_timeout=5)
        await EchoAgent.register(callee, "alpha")
        caller = GrpcWorkerRuntime(address, rpc_timeout=5)
        caller.add_message_types(Answer)
        async with callee, caller:
            answer = await caller.send_message(Ask("hi"), AgentId("alpha", "k"))
            await caller.publish_message(Note("n"), TopicId("notes", "s"))
            delivered = await messages.RECORDER.wait_for(1, timeout=5)
    return await _loop_module(), answer, delivered


@pytest.mark.parametrize("choice", ["asyncio", pytest.param("uvloop", marks=needs_uvloop)])
def test_host_and_worker_speak_grpc_on_each_loop(choice: str) -> None:
    module, answer, delivered = run(_host_and_worker_round_trip(), event_loop=choice)
    assert module.startswith(choice)
    assert answer == Answer(text="alpha/k:hi:anonymous")
    assert delivered == [("alpha/s", ("note", "n", None, False))]


def test_commands_refuse_an_unknown_loop() -> None:
    for command in ("host", "worker"):
        result = subprocess.run([sys.executable, "-m", "pyruntime.cli", command, "--event-loop", "trio"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert "--event-loop" in result.stderr and "invalid choice" in result.stderr
