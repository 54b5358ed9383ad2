"""The demo's message types: plain dataclasses, so AutoGen's runtime can send them too.

Both runtimes name a dataclass by its bare class name and encode it as
``json.dumps(asdict(message))``, which is what lets an AutoGen worker take part.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP_CHAT_TOPIC = "group_chat"
SESSION = "demo"


@dataclass
class StartChat:
    """UI → manager (RPC): begin a conversation of ``rounds`` writer/editor exchanges."""

    rounds: int


@dataclass
class ChatAccepted:
    """Manager's reply to StartChat."""

    speakers: list[str]


@dataclass
class RequestToSpeak:
    """Manager → one participant (published to that participant's topic): your turn."""

    round: int


@dataclass
class GroupChatMessage:
    """A participant's contribution, published to the group chat topic."""

    source: str
    body: str
    round: int


@dataclass
class CountWords:
    """Editor → writer (RPC): how many words are in ``text``?"""

    text: str


@dataclass
class WordCount:
    """Writer's reply to CountWords."""

    words: int


@dataclass
class ChatFinished:
    """Manager → group chat: the scripted conversation is over."""

    rounds: int
    messages: int
