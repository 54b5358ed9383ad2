"""The payload content types AutoGen peers put in ``Payload.data_content_type`` and ``datacontenttype``."""

from __future__ import annotations

from typing import Final

JSON: Final = "application/json"
PROTOBUF: Final = "application/x-protobuf"

KNOWN_CONTENT_TYPES: Final = frozenset({JSON, PROTOBUF})

# The prefix protobuf's Any.Pack uses; both reference runtimes rely on the default.
ANY_TYPE_URL_PREFIX: Final = "type.googleapis.com/"
