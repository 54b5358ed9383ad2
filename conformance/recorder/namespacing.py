"""Optional per-run namespacing of agent types and topic types in a written scenario.

With it, every agent type the recording registered or subscribed, and every topic type, becomes
``${ns}_<name>`` (the engine's unique token per run), so the replay never meets another run's
types: it can run concurrently with other cases, or twice in a row on one host. The prefix keeps
matching intact (prefix ``p`` matches topic ``t`` exactly when ``${ns}_p`` matches ``${ns}_t``).
Empty names are left alone (an empty type means something else than a prefixed one), and so is
everything inside payload bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

PREFIX: Final = "${ns}_"
_SENDER_TYPE: Final = "agagentsendertype"


def _rewrite(container: dict[str, Any], key: str, change: Any) -> None:
    if key in container:
        container[key] = change(container[key])


@dataclass
class Namespacer:
    """Rewrites the type-naming fields of protobuf JSON messages (camelCase, as MessageToDict writes)."""

    agent_types: set[str] = field(default_factory=set)
    enabled: bool = True

    def learn_request(self, method: str, request: dict[str, Any]) -> None:
        """Collect agent types from RegisterAgent / AddSubscription requests (before any rewriting)."""
        if method == "RegisterAgent" and request.get("type"):
            self.agent_types.add(request["type"])
        if method == "AddSubscription":
            for member in ("typeSubscription", "typePrefixSubscription"):
                agent_type = request.get("subscription", {}).get(member, {}).get("agentType")
                if agent_type:
                    self.agent_types.add(agent_type)

    def _agent(self, name: Any) -> Any:
        return PREFIX + name if isinstance(name, str) and name in self.agent_types else name

    @staticmethod
    def _topic(name: Any) -> Any:
        return PREFIX + name if isinstance(name, str) and name else name

    def _agent_id(self, agent_id: Any) -> None:
        if isinstance(agent_id, dict) and "type" in agent_id:
            agent_id["type"] = self._agent(agent_id["type"])

    def _subscription(self, subscription: dict[str, Any]) -> None:
        exact = subscription.get("typeSubscription")
        if isinstance(exact, dict):
            _rewrite(exact, "topicType", self._topic)
            _rewrite(exact, "agentType", self._agent)
        prefix = subscription.get("typePrefixSubscription")
        if isinstance(prefix, dict):
            _rewrite(prefix, "topicTypePrefix", self._topic)
            _rewrite(prefix, "agentType", self._agent)

    def request(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        if not self.enabled:
            return request
        if method == "RegisterAgent":
            _rewrite(request, "type", self._agent)
        if method == "AddSubscription" and isinstance(request.get("subscription"), dict):
            self._subscription(request["subscription"])
        return request

    def listing_pattern(self, pattern: dict[str, Any]) -> dict[str, Any]:
        if self.enabled:
            self._subscription(pattern["subscriptions"]["$contains"])
        return pattern

    def message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A Message (OpenChannel), sent or expected."""
        if not self.enabled:
            return message
        event = message.get("cloudEvent")
        if isinstance(event, dict):
            _rewrite(event, "type", self._topic)
            sender = event.get("attributes", {}).get(_SENDER_TYPE)
            if isinstance(sender, dict) and "ceString" in sender:
                sender["ceString"] = self._agent(sender["ceString"])
        request = message.get("request")
        if isinstance(request, dict):
            self._agent_id(request.get("target"))
            self._agent_id(request.get("source"))
        return message

    def control(self, message: dict[str, Any]) -> dict[str, Any]:
        """A ControlMessage: ``agentid=<type>/<key>`` destinations and agent ids inside the Any."""
        if not self.enabled:
            return message
        for key in ("destination", "respondTo"):
            value = message.get(key)
            if isinstance(value, str) and value.startswith("agentid="):
                agent_type, sep, rest = value[len("agentid="):].partition("/")
                message[key] = "agentid=" + self._agent(agent_type) + sep + rest
        inner = message.get("rpcMessage")
        if isinstance(inner, dict):
            self._agent_id(inner.get("agentId"))
        return message
