"""Matching rules for the values that differ between a recording and its replays.

What a recorded peer *sent* is replayed literally except for ids the sender chose at random:
those become fresh per-run values (``${ns}-e1``, ``${ns}-r1``, ``${ns}-s1``, ...) so replays never
collide with each other or with leftovers on the host. What a peer *received* becomes a pattern:

- an id the host forwards from an earlier send (CloudEvent id, a caller's request id, a control
  rpc_id) must be the same as in that send: ``{"$same_as": "<capture of the send>.<path>"}``;
- an id the host may choose itself (the request id a callee sees) is captured,
  ``{"$capture": "ridN"}``, and the callee's reply refers back to it with ``{"$ref": "ridN"}``;
- timestamps must only look like timestamps (``$regex``); an event id nobody sent is ignored;
- client-ids are the virtual peers' ``${client:PEER}`` everywhere they appear in a message.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

RFC3339: Final = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"
# Client-ids shorter than this are replaced only where a whole string equals them (or after
# "clientid="), so a short id like "c1" never rewrites unrelated text that happens to contain it.
SUBSTRING_MIN_LENGTH: Final = 16


def _walk_strings(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_walk_strings(item, change) for item in value]
    if isinstance(value, dict):
        return {key: _walk_strings(item, change) for key, item in value.items()}
    return value


@dataclass
class VolatileValues:
    """State shared by all steps of one scenario being written."""

    client_names: dict[str, str] = field(default_factory=dict)  # client-id -> peer name
    event_ids: dict[str, str] = field(default_factory=dict)  # original CloudEvent id -> capture path
    control_ids: dict[str, str] = field(default_factory=dict)  # original rpc_id -> capture path
    caller_request_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (caller peer, id) -> capture path
    callee_request_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (callee peer, id) -> capture name
    subscription_ids: dict[str, str] = field(default_factory=dict)  # original id -> replacement
    _counters: dict[str, itertools.count] = field(default_factory=dict)

    def _fresh(self, prefix: str) -> str:
        counter = self._counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}{next(counter)}"

    # -- shared rewrites ------------------------------------------------------------------------

    def clients(self, value: Any) -> Any:
        """Replace every recorded client-id with its peer's ``${client:PEER}`` placeholder."""

        def change(text: str) -> str:
            for client_id, peer in self.client_names.items():
                placeholder = f"${{client:{peer}}}"
                if text == client_id:
                    return placeholder
                if text.startswith("clientid=") and text[len("clientid="):] == client_id:
                    return "clientid=" + placeholder
                if len(client_id) >= SUBSTRING_MIN_LENGTH and client_id in text:
                    text = text.replace(client_id, placeholder)
            return text

        return _walk_strings(value, change)

    def subscriptions(self, value: Any) -> Any:
        """Replace recorded subscription ids (whole strings) with their per-run replacements."""
        if not self.subscription_ids:
            return value
        return _walk_strings(value, lambda text: self.subscription_ids.get(text, text))

    # -- what peers sent ------------------------------------------------------------------------

    def sent_message(self, peer: str, capture: str, message: dict[str, Any]) -> dict[str, Any]:
        """A Message sent on OpenChannel, with random ids made per-run."""
        if "cloudEvent" in message and message["cloudEvent"].get("id"):
            event = message["cloudEvent"]
            self.event_ids.setdefault(event["id"], f"{capture}.cloudEvent.id")
            event["id"] = "${ns}-" + self._fresh("e")
        if "request" in message:
            request = message["request"]
            original = request.get("requestId", "")
            self.caller_request_ids[(peer, original)] = f"{capture}.request.requestId"
            request["requestId"] = "${ns}-" + self._fresh("r")
        if "response" in message:
            response = message["response"]
            captured = self.callee_request_ids.get((peer, response.get("requestId", "")))
            if captured is not None:
                response["requestId"] = {"$ref": captured}
        return self.subscriptions(self.clients(message))

    def sent_control(self, capture: str, message: dict[str, Any]) -> dict[str, Any]:
        """A ControlMessage sent on OpenControlChannel."""
        if message.get("rpcId"):
            self.control_ids.setdefault(message["rpcId"], f"{capture}.rpcId")
            message["rpcId"] = "${ns}-" + self._fresh("c")
        return self.clients(message)

    def call_request(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        """A unary request; subscription ids chosen by the client become per-run values."""
        if method == "AddSubscription":
            subscription = request.get("subscription", {})
            original = subscription.get("id")
            if original:
                self.subscription_ids.setdefault(original, "${ns}-" + self._fresh("s"))
        return self.subscriptions(self.clients(request))

    # -- what peers received --------------------------------------------------------------------

    def received_message(self, peer: str, message: dict[str, Any]) -> dict[str, Any]:
        """The pattern an expect step matches a received Message against."""
        message = self.subscriptions(self.clients(message))
        if "cloudEvent" in message:
            event = message["cloudEvent"]
            original = event.get("id")
            if original is not None:
                path = self.event_ids.get(original)
                event["id"] = {"$same_as": path} if path else {"$ignore": True}
            for value in event.get("attributes", {}).values():
                if "ceTimestamp" in value:
                    value["ceTimestamp"] = {"$regex": RFC3339}
        if "request" in message:
            request = message["request"]
            name = self._fresh("rid")
            self.callee_request_ids[(peer, request.get("requestId", ""))] = name
            request["requestId"] = {"$capture": name}
        if "response" in message:
            response = message["response"]
            path = self.caller_request_ids.get((peer, response.get("requestId", "")))
            if path is not None:
                response["requestId"] = {"$same_as": path}
            response.setdefault("error", {"$absent": True})
        return message

    def received_control(self, message: dict[str, Any]) -> dict[str, Any]:
        message = self.clients(message)
        if "rpcId" in message:
            path = self.control_ids.get(message["rpcId"])
            message["rpcId"] = {"$same_as": path} if path else {"$ignore": True}
        return message

    def subscription_listing(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        """One ``$contains`` pattern per recorded subscription that this recording added.

        The listing is global (every client's subscriptions) and some hosts replace ids, so only
        the recording's own subscriptions are checked, by what they route, not by id.
        """
        patterns = []
        for subscription in response.get("subscriptions", []):
            if subscription.get("id") in self.subscription_ids:
                routed = {key: value for key, value in subscription.items() if key != "id"}
                patterns.append({"subscriptions": {"$contains": routed}})
        return patterns
