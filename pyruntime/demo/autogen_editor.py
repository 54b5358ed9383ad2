"""The demo's editor on AutoGen's own runtime (autogen-ext's GrpcWorkerAgentRuntime + RoutedAgent).

``agentrpc demo --with-autogen`` runs this instead of the pyruntime editor, to show both
runtimes in one conversation: it receives JSON dataclass events from pyruntime workers,
RPCs our writer (AutoGen sends and expects JSON), and publishes back to the group chat.

    python -m pyruntime.demo.autogen_editor HOST:PORT
"""

from __future__ import annotations

import asyncio
import sys

from autogen_core import (
    AgentId,
    MessageContext,
    RoutedAgent,
    TopicId,
    TypeSubscription,
    message_handler,
    try_get_known_serializers_for_type,
)
from autogen_ext.runtimes.grpc import GrpcWorkerAgentRuntime

from .agents import draft_for, review_for
from .messages import GROUP_CHAT_TOPIC, ChatFinished, CountWords, GroupChatMessage, RequestToSpeak, WordCount


class AutogenEditor(RoutedAgent):
    def __init__(self) -> None:
        super().__init__("editor on autogen-ext")
        self._latest_draft = ""

    @message_handler
    async def on_chat(self, message: GroupChatMessage, ctx: MessageContext) -> None:
        if message.source == "writer":
            self._latest_draft = message.body

    @message_handler
    async def on_request(self, message: RequestToSpeak, ctx: MessageContext) -> None:
        text = self._latest_draft or draft_for(message.round)
        count = await self.send_message(CountWords(text=text), AgentId("writer", self.id.key))
        body = review_for(message.round, count.words) + " (reviewed on autogen-ext)"
        await self.publish_message(
            GroupChatMessage(source="editor", body=body, round=message.round), TopicId(GROUP_CHAT_TOPIC, self.id.key)
        )

    @message_handler
    async def on_finished(self, message: ChatFinished, ctx: MessageContext) -> None:
        """The chat is over; nothing to do."""


async def run(address: str) -> None:
    runtime = GrpcWorkerAgentRuntime(host_address=address)
    for cls in (GroupChatMessage, RequestToSpeak, CountWords, WordCount, ChatFinished):
        runtime.add_message_serializer(try_get_known_serializers_for_type(cls))
    await runtime.start()
    await AutogenEditor.register(runtime, "editor", AutogenEditor)
    await runtime.add_subscription(TypeSubscription(topic_type="editor", agent_type="editor"))
    await runtime.add_subscription(TypeSubscription(topic_type=GROUP_CHAT_TOPIC, agent_type="editor"))
    print(f"autogen worker connected to {address}", flush=True)
    await runtime.stop_when_signal()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m pyruntime.demo.autogen_editor HOST:PORT", file=sys.stderr)
        return 2
    asyncio.run(run(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
