"""The agent API: handler decorators, dispatch by type, registration rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import pytest

from pyruntime import (
    Agent,
    AgentId,
    CantHandle,
    LocalRuntime,
    MessageContext,
    RegistrationError,
    RpcError,
    TopicId,
    TypeSubscription,
    current_agent_context,
    event,
    handler,
    rpc,
)

from .messages import Answer, Ask, Note


@dataclass
class Left:
    n: int


@dataclass
class Right:
    n: int


@dataclass
class SubNote(Note):
    pass


class Multi(Agent):
    @handler
    async def either(self, message: Union[Left, Right], ctx: MessageContext) -> Answer:
        return Answer(text=type(message).__name__)

    @rpc
    async def as_rpc(self, message: Note, ctx: MessageContext) -> Answer:
        return Answer(text="rpc " + message.text)

    @event
    async def as_event(self, message: Note, ctx: MessageContext) -> None:
        self.seen = message.text


def test_handlers_are_found_from_type_hints() -> None:
    assert set(Multi.handled_types()) == {Left, Right, Note}
    assert Multi.reply_types() == (Answer,)


def test_handler_needs_async_and_a_type() -> None:
    with pytest.raises(TypeError, match="async def"):

        class Sync(Agent):
            @handler
            def nope(self, message: Note, ctx: MessageContext) -> None: ...

    with pytest.raises(TypeError, match="type hint"):

        class NoHint(Agent):
            @handler
            async def nope(self, message, ctx: MessageContext) -> None: ...  # type: ignore[no-untyped-def]


def test_unresolvable_hint_asks_for_explicit_types() -> None:
    with pytest.raises(TypeError, match=r"@handler\(MyMessage\)"):

        class Bad(Agent):
            @handler
            async def on(self, message: "NotDefinedAnywhere", ctx: MessageContext) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    class Explicit(Agent):
        @handler(Left)
        async def on(self, message: "NotDefinedAnywhere", ctx: MessageContext) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    assert Explicit.handled_types() == (Left,)


async def test_dispatch_by_type_kind_and_subclass() -> None:
    runtime = LocalRuntime()
    await Multi.register(runtime, "multi")
    async with runtime:
        target = AgentId("multi", "k")
        assert (await runtime.send_message(Left(1), target)).text == "Left"
        assert (await runtime.send_message(Right(2), target)).text == "Right"
        assert (await runtime.send_message(Note("x"), target)).text == "rpc x"
        # A subclass of a handled type goes to the base type's handler.
        assert (await runtime.send_message(SubNote("y"), target)).text == "rpc y"
        # No handler for Ask: the caller sees the agent's CantHandle text as an RpcError.
        with pytest.raises(RpcError, match="no rpc handler for message type Ask") as info:
            await runtime.send_message(Ask("?"), target)
        assert isinstance(info.value.__cause__, CantHandle)


async def test_agent_context_is_available_in_the_constructor() -> None:
    seen: list[AgentId] = []

    class Introspective(Agent):
        def __init__(self) -> None:
            super().__init__()
            seen.append(current_agent_context().id)
            assert self.id == seen[-1]

        @rpc
        async def on(self, message: Ask, ctx: MessageContext) -> Answer:
            return Answer(text=str(self.id))

    runtime = LocalRuntime()
    await Introspective.register(runtime, "intro")
    async with runtime:
        assert (await runtime.send_message(Ask(""), AgentId("intro", "abc"))).text == "intro/abc"
    assert seen == [AgentId("intro", "abc")]
    with pytest.raises(RuntimeError, match="no agent is being constructed"):
        current_agent_context()


async def test_registration_rules() -> None:
    runtime = LocalRuntime()
    await Multi.register(runtime, "multi")
    with pytest.raises(RegistrationError, match="already registered"):
        await runtime.register_factory("multi", Multi)
    await runtime.register_factory("wrong", lambda: Multi(), expected_class=Introvert)
    async with runtime:
        with pytest.raises(RpcError, match="built a Multi, expected Introvert"):
            await runtime.send_message(Left(1), AgentId("wrong", "k"))
    # The direct-message prefix subscription is added at registration, like AutoGen's workers.
    prefixes = [s for s in runtime.subscriptions() if getattr(s, "topic_type_prefix", None) == "multi:"]
    assert len(prefixes) == 1


class Introvert(Agent):
    pass


async def test_subscribe_decorator_adds_type_subscriptions() -> None:
    from .messages import EchoAgent

    runtime = LocalRuntime()
    await EchoAgent.register(runtime, "echo")
    subs = runtime.subscriptions()
    assert any(isinstance(s, TypeSubscription) and s.topic_type == "notes" and s.agent_type == "echo" for s in subs)
    async with runtime:
        await runtime.publish_message(Note("hello"), TopicId("notes", "s1"))


def test_overrides_follow_python_rules() -> None:
    class Base(Agent):
        @handler
        async def on_left(self, message: Left, ctx: MessageContext) -> Answer:
            return Answer(text="base")

        @handler
        async def on_right(self, message: Right, ctx: MessageContext) -> Answer:
            return Answer(text="base")

    class Child(Base):
        @handler
        async def on_left(self, message: Left, ctx: MessageContext) -> Answer:  # replaces the base handler
            return Answer(text="child")

        async def on_right(self, message: Right, ctx: MessageContext) -> Answer:  # type: ignore[override]
            return Answer(text="plain method")  # not decorated: no longer a handler

    assert [spec.func.__qualname__.split(".")[-2] for spec in Child._handler_specs] == ["Child"]
    assert Child.handled_types() == (Left,)
    assert set(Base.handled_types()) == {Left, Right}
