"""Message and agent classes shared by the worker tests (module level, so type hints resolve)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from pyruntime import Agent, AgentId, MessageContext, TopicId, event, handler, rpc, subscribe
from pyruntime._proto import agent_worker_pb2 as pb

# A protobuf message type for payload tests: full name "agents.RegisterAgentTypeRequest".
ProtoNote = pb.RegisterAgentTypeRequest


@dataclass
class Note:
    text: str
    hops: int = 0


@dataclass
class Ask:
    text: str


@dataclass
class Answer:
    text: str


@dataclass
class Chain:
    """A→B→A: ``depth`` more hops to go between the two agent types in ``route``."""

    depth: int
    route: list[str] = field(default_factory=list)


@dataclass
class Fail:
    reason: str


@dataclass
class Nothing:
    pass


@dataclass
class Slow:
    seconds: float


@dataclass
class Unknown:
    """Never registered at the receiver in the undecodable-payload tests."""

    x: int


class Recorder:
    """Collects what agents received; waits (bounded) until enough has arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

    def add(self, who: str, what: Any) -> None:
        self.items.append((who, what))
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, Any]]:
        async def until() -> None:
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return list(self.items)


RECORDER: Optional[Recorder] = None


def recorder() -> Recorder:
    assert RECORDER is not None, "tests set messages.RECORDER first"
    return RECORDER


@subscribe("notes")
class EchoAgent(Agent):
    """Answers Ask, records Notes and protobuf notes, fails on Fail, returns None on Nothing,
    bounces Chain between its type and the other type in ``route``."""

    message_types = (Unknown,)

    def __init__(self) -> None:
        super().__init__("echo")
        self.counter = 0

    @rpc
    async def ask(self, message: Ask, ctx: MessageContext) -> Answer:
        self.counter += 1
        sender = str(ctx.sender) if ctx.sender else "anonymous"
        return Answer(text=f"{self.id}:{message.text}:{sender}")

    @rpc
    async def ask_proto(self, message: ProtoNote, ctx: MessageContext) -> ProtoNote:
        return ProtoNote(type=message.type + "@" + str(self.id))

    @handler
    async def note(self, message: Note, ctx: MessageContext) -> None:
        recorder().add(str(self.id), ("note", message.text, str(ctx.sender) if ctx.sender else None, ctx.is_rpc))

    @event
    async def proto_note(self, message: ProtoNote, ctx: MessageContext) -> None:
        recorder().add(str(self.id), ("proto", message.type, str(ctx.sender) if ctx.sender else None, False))

    @rpc
    async def fail(self, message: Fail, ctx: MessageContext) -> Answer:
        raise ValueError(message.reason)

    @rpc
    async def nothing(self, message: Nothing, ctx: MessageContext) -> None:
        return None

    @rpc
    async def slow(self, message: Slow, ctx: MessageContext) -> Answer:
        await asyncio.sleep(message.seconds)
        return Answer(text="slow done")

    @rpc
    async def chain(self, message: Chain, ctx: MessageContext) -> Chain:
        route = [*message.route, str(self.id)]
        if message.depth == 0:
            return Chain(depth=0, route=route)
        other = "beta" if self.id.type == "alpha" else "alpha"
        return await self.send_message(Chain(depth=message.depth - 1, route=route), AgentId(other, self.id.key))

    @event
    async def relay(self, message: Ask, ctx: MessageContext) -> None:
        """An event Ask makes the agent publish a Note (to show it never gets its own event back)."""
        await self.publish_message(Note(text="relayed " + message.text), TopicId("notes", self.id.key))

    def save_state(self) -> Mapping[str, Any]:
        return {"counter": self.counter}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.counter = int(state["counter"])


class Victim(EchoAgent):
    """Prints when it starts a Slow request, so a test can kill its process mid-RPC."""

    @rpc
    async def slow(self, message: Slow, ctx: MessageContext) -> Answer:
        print("handling slow request", flush=True)
        await asyncio.sleep(message.seconds)
        return Answer(text="slow done")


async def register_victim(runtime: Any) -> None:
    """``agentrpc worker --agents tests.worker.messages:register_victim``"""
    await Victim.register(runtime, "victim")
