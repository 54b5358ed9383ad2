"""Errors raised by the wire codec.

    WireError                     base class: anything the codec refuses
    ├── SerializationError        a payload type is unknown for a content type, or its bytes do not decode
    ├── CloudEventError           a CloudEvent lacks what AutoGen needs, or its JSON form is not valid
    └── InvalidSubscriptionError  a Subscription message has neither oneof member set

Property tests drive the codec with random input and accept no other exception types.
"""

from __future__ import annotations


class WireError(Exception):
    """Base class of every error the wire codec raises."""


class SerializationError(WireError):
    """A payload could not be encoded or decoded.

    ``type_name`` and ``content_type`` name the pair that failed, so that a log line or an
    ``RpcResponse.error`` tells the sender exactly what to register or fix.
    """

    def __init__(self, message: str, *, type_name: str, content_type: str) -> None:
        super().__init__(f"{message} (type {type_name!r}, content type {content_type!r})")
        self.type_name = type_name
        self.content_type = content_type


class CloudEventError(WireError):
    """A CloudEvent is missing required attributes or is not a valid event."""


class InvalidSubscriptionError(WireError):
    """A Subscription message sets neither typeSubscription nor typePrefixSubscription."""
