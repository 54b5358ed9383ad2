"""The demo agents on pyruntime's agent API, and the ``agentrpc worker`` factories that host them.

    writer   drafts a scripted text when asked to speak; answers CountWords RPCs
    editor   reviews the latest draft (asking the writer for a word count over RPC)
    manager  picks the next speaker round-robin (writer, editor) until the rounds are done
    ui       prints every group-chat message (runs inside ``agentrpc demo`` itself)
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Mapping, Optional

from pyruntime.model import AgentId, TopicId, TypeSubscription
from pyruntime.worker.agent import Agent, event, rpc
from pyruntime.worker.context import MessageContext
from pyruntime.worker.runtime import AgentRuntime

from .messages import (
    GROUP_CHAT_TOPIC,
    ChatAccepted,
    ChatFinished,
    CountWords,
    GroupChatMessage,
    RequestToSpeak,
    StartChat,
    WordCount,
)

SPEAKERS = ("writer", "editor")

DRAFTS = (
    "Autumn light on the harbour; the boats keep their own time.",
    "The harbour wakes slowly, gulls arguing over the first catch of the day.",
    "At dusk the harbour hums, and every rope remembers the tide.",
    "Night settles on the harbour; lanterns sway like patient questions.",
)


def draft_for(round_no: int) -> str:
    return DRAFTS[(round_no - 1) % len(DRAFTS)]


def review_for(round_no: int, words: int) -> str:
    return f"Round {round_no}: {words} words. Tighten the middle and keep the final image."


class WriterAgent(Agent):
    """Writes the scripted draft for each round."""

    message_types = (ChatFinished,)  # seen on the group chat, deliberately not handled

    @event
    async def on_request(self, message: RequestToSpeak, ctx: MessageContext) -> None:
        text = draft_for(message.round)
        await self.publish_message(
            GroupChatMessage(source="writer", body=text, round=message.round), TopicId(GROUP_CHAT_TOPIC, self.id.key)
        )

    @rpc
    async def count_words(self, message: CountWords, ctx: MessageContext) -> WordCount:
        return WordCount(words=len(message.text.split()))

    @event
    async def on_chat(self, message: GroupChatMessage, ctx: MessageContext) -> None:
        """Participants see the whole chat; the writer has nothing to add out of turn."""


class EditorAgent(Agent):
    """Reviews the latest draft; asks the writer (RPC) how long it is."""

    message_types = (CountWords, WordCount, ChatFinished)

    def __init__(self) -> None:
        super().__init__("editor")
        self._latest_draft = ""

    @event
    async def on_chat(self, message: GroupChatMessage, ctx: MessageContext) -> None:
        if message.source == "writer":
            self._latest_draft = message.body

    @event
    async def on_request(self, message: RequestToSpeak, ctx: MessageContext) -> None:
        text = self._latest_draft or draft_for(message.round)
        count = await self.send_message(CountWords(text=text), AgentId("writer", self.id.key))
        await self.publish_message(
            GroupChatMessage(source="editor", body=review_for(message.round, count.words), round=message.round),
            TopicId(GROUP_CHAT_TOPIC, self.id.key),
        )


class GroupChatManager(Agent):
    """Round-robin speaker selection: writer, editor, writer, ... for ``rounds`` rounds."""

    def __init__(self) -> None:
        super().__init__("manager")
        self.rounds = 0
        self.round = 0
        self.messages = 0
        self.turn = 0

    @rpc
    async def on_start(self, message: StartChat, ctx: MessageContext) -> ChatAccepted:
        self.rounds, self.round, self.messages, self.turn = message.rounds, 1, 0, 0
        await self._ask(SPEAKERS[0])
        return ChatAccepted(speakers=list(SPEAKERS))

    @event
    async def on_chat(self, message: GroupChatMessage, ctx: MessageContext) -> None:
        if message.source not in SPEAKERS or self.rounds == 0:
            return
        self.messages += 1
        self.turn = (self.turn + 1) % len(SPEAKERS)
        if self.turn == 0:
            self.round += 1
        if self.round > self.rounds:
            await self.publish_message(
                ChatFinished(rounds=self.rounds, messages=self.messages), TopicId(GROUP_CHAT_TOPIC, self.id.key)
            )
            self.rounds = 0
            return
        await self._ask(SPEAKERS[self.turn])

    async def _ask(self, speaker: str) -> None:
        await self.publish_message(RequestToSpeak(round=self.round), TopicId(speaker, self.id.key))

    def save_state(self) -> Mapping[str, Any]:
        return {"rounds": self.rounds, "round": self.round, "messages": self.messages, "turn": self.turn}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.rounds, self.round = int(state["rounds"]), int(state["round"])
        self.messages, self.turn = int(state["messages"]), int(state["turn"])


class UIAgent(Agent):
    """Prints the conversation and resolves ``finished`` when the manager ends it."""

    def __init__(self, printer: Callable[[str], None], finished: "asyncio.Future[ChatFinished]") -> None:
        super().__init__("ui")
        self._print = printer
        self._finished = finished
        self.transcript: list[GroupChatMessage] = []

    @event
    async def on_chat(self, message: GroupChatMessage, ctx: MessageContext) -> None:
        self.transcript.append(message)
        self._print(f"[round {message.round}] {message.source:>6}: {message.body}")

    @event
    async def on_finished(self, message: ChatFinished, ctx: MessageContext) -> None:
        if not self._finished.done():
            self._finished.set_result(message)


async def _participant(runtime: AgentRuntime, agent_type: str, cls: type, factory: Optional[Callable[[], Any]] = None) -> None:
    await cls.register(runtime, agent_type, factory)  # type: ignore[attr-defined]
    await runtime.add_subscription(TypeSubscription(topic_type=agent_type, agent_type=agent_type))
    await runtime.add_subscription(TypeSubscription(topic_type=GROUP_CHAT_TOPIC, agent_type=agent_type))


async def register_writer(runtime: AgentRuntime) -> None:
    """``agentrpc worker --agents pyruntime.demo.agents:register_writer``"""
    await _participant(runtime, "writer", WriterAgent)


async def register_editor(runtime: AgentRuntime) -> None:
    await _participant(runtime, "editor", EditorAgent)


async def register_manager(runtime: AgentRuntime) -> None:
    await GroupChatManager.register(runtime, "manager")
    await runtime.add_subscription(TypeSubscription(topic_type=GROUP_CHAT_TOPIC, agent_type="manager"))


async def register_ui(runtime: AgentRuntime, printer: Callable[[str], None], finished: "asyncio.Future[ChatFinished]") -> None:
    runtime.add_message_types(StartChat, ChatAccepted)
    await UIAgent.register(runtime, "ui", lambda: UIAgent(printer, finished))
    await runtime.add_subscription(TypeSubscription(topic_type=GROUP_CHAT_TOPIC, agent_type="ui"))


async def register_all(runtime: AgentRuntime) -> None:
    """Writer, editor and manager in one runtime (LocalRuntime or a single worker)."""
    await register_writer(runtime)
    await register_editor(runtime)
    await register_manager(runtime)
