"""Convert protobuf CloudEvents to and from the CloudEvents JSON event format.

The JSON itself is read and written by the cloudevents SDK's ``JSONFormat``; this module
only maps between the protobuf binding and the SDK's attribute dictionary.

JSON has fewer types than CloudEvents attributes: bytes, URI, URI-reference and timestamp
all become strings, and ``binary_data`` and ``proto_data`` both become ``data_base64``. To
make the round trip lossless, the writer adds one extension attribute, ``agwiretypes``,
listing the attributes whose type JSON cannot show (``name=kind`` pairs, comma-separated;
``$data=proto`` marks protobuf data). The reader consumes it; JSON from elsewhere, without
it, reads as the JSON types suggest (string, boolean, integer), with ``time`` as timestamp.

Other choices made here, all to stay faithful to the wire:
- nothing is invented: no default ``id``/``time``/``specversion`` is added;
- an empty ``spec_version`` (as the .NET worker sends) stays empty;
- timestamps keep nanoseconds, except ``time``, which the SDK parses to a datetime (microseconds).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Final

from cloudevents.core.formats.json import JSONFormat
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError

from pyruntime._proto import cloudevent_pb2

from .cloudevent import set_attribute
from .errors import CloudEventError

CloudEvent = cloudevent_pb2.CloudEvent

TYPE_HINT_ATTRIBUTE: Final = "agwiretypes"
_DATA_HINT: Final = "$data"
_CONTEXT_FIELDS: Final = (("id", "id"), ("source", "source"), ("specversion", "spec_version"), ("type", "type"))
# JSON-invisible kinds, by their hint names.
_HINTED_KINDS: Final = {"ce_bytes": "bytes", "ce_uri": "uri", "ce_uri_ref": "urireference", "ce_timestamp": "timestamp"}
_KIND_BY_HINT: Final = {hint: kind for kind, hint in _HINTED_KINDS.items()}

_RESERVED_NAMES: Final = frozenset({TYPE_HINT_ATTRIBUTE, "data", "data_base64"})

_FORMAT = JSONFormat()


class _PlainEvent:
    """The smallest event object the SDK's format accepts: attributes and data, nothing added."""

    def __init__(self, attributes: dict[str, Any], data: dict[str, Any] | str | bytes | None = None) -> None:
        self._attributes = attributes
        self._data = data

    def get_attributes(self) -> dict[str, Any]:
        return self._attributes

    def get_data(self) -> dict[str, Any] | str | bytes | None:
        return self._data

    # The rest of the SDK's event protocol, for completeness.
    def get_id(self) -> str:
        return self._attributes.get("id", "")

    def get_source(self) -> str:
        return self._attributes.get("source", "")

    def get_type(self) -> str:
        return self._attributes.get("type", "")

    def get_specversion(self) -> str:
        return self._attributes.get("specversion", "")

    def get_datacontenttype(self) -> str | None:
        return self._attributes.get("datacontenttype")

    def get_dataschema(self) -> str | None:
        return self._attributes.get("dataschema")

    def get_subject(self) -> str | None:
        return self._attributes.get("subject")

    def get_time(self) -> datetime | None:
        return self._attributes.get("time")

    def get_extension(self, extension_name: str) -> Any:
        return self._attributes.get(extension_name)


def to_cloudevents_json(event: CloudEvent, *, type_hints: bool = True) -> bytes:
    """The event in CloudEvents JSON format (``application/cloudevents+json``)."""
    attributes: dict[str, Any] = {json_name: getattr(event, field) for json_name, field in _CONTEXT_FIELDS}
    hints: list[str] = []
    for name in sorted(event.attributes):
        value = event.attributes[name]
        kind = value.WhichOneof("attr")
        if kind is None:
            raise CloudEventError(f"attribute {name!r} has no value set")
        if name in attributes or name in _RESERVED_NAMES:
            raise CloudEventError(f"attribute name {name!r} is reserved in the CloudEvents JSON format")
        if kind == "ce_bytes":
            attributes[name] = base64.b64encode(value.ce_bytes).decode()
        elif kind == "ce_timestamp":
            attributes[name] = value.ce_timestamp.ToJsonString()
        else:
            attributes[name] = getattr(value, kind)
        if kind in _HINTED_KINDS:
            hints.append(f"{name}={_HINTED_KINDS[kind]}")
    data_kind = event.WhichOneof("data")
    data: str | bytes | None
    if data_kind == "binary_data":
        data = event.binary_data
    elif data_kind == "text_data":
        data = event.text_data
    elif data_kind == "proto_data":
        data = event.proto_data.SerializeToString()
        hints.append(f"{_DATA_HINT}=proto")
    else:
        data = None
    if type_hints and hints:
        attributes[TYPE_HINT_ATTRIBUTE] = ",".join(hints)
    return _FORMAT.write(_PlainEvent(attributes, data))


def _parse_hints(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, str):
        raise CloudEventError(f"{TYPE_HINT_ATTRIBUTE} must be a string")
    hints = {}
    for item in filter(None, raw.split(",")):
        name, sep, hint = item.partition("=")
        if not sep or (name != _DATA_HINT and hint not in _KIND_BY_HINT) or (name == _DATA_HINT and hint != "proto"):
            raise CloudEventError(f"{TYPE_HINT_ATTRIBUTE} entry {item!r} is not name=kind")
        hints[name] = hint
    return hints


def from_cloudevents_json(document: bytes | str) -> CloudEvent:
    """Parse CloudEvents JSON into the protobuf binding; invalid input raises :class:`CloudEventError`."""
    try:
        parsed = _FORMAT.read(_PlainEvent, document)
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError, base64.binascii.Error) as exc:
        raise CloudEventError(f"not a CloudEvents JSON document: {exc}") from None
    except AttributeError as exc:  # the SDK assumes a JSON object at the top level
        raise CloudEventError(f"not a CloudEvents JSON document: {exc}") from None
    attributes = dict(parsed.get_attributes())
    hints = _parse_hints(attributes.pop(TYPE_HINT_ATTRIBUTE, None))
    event = CloudEvent()
    try:
        for json_name, field in _CONTEXT_FIELDS:
            value = attributes.pop(json_name, "")
            if not isinstance(value, str):
                raise CloudEventError(f"context attribute {json_name!r} must be a string")
            setattr(event, field, value)
        for name, value in attributes.items():
            _set_json_attribute(event, name, value, hints.get(name))
    except (ValueError, TypeError, OverflowError) as exc:
        raise CloudEventError(f"invalid attribute value: {exc}") from None
    data = parsed.get_data()
    if hints.get(_DATA_HINT) == "proto":
        if not isinstance(data, bytes):
            raise CloudEventError("protobuf data must be given as data_base64")
        packed = any_pb2.Any()
        try:
            packed.ParseFromString(data)
        except DecodeError as exc:
            raise CloudEventError(f"data_base64 is not a serialized google.protobuf.Any: {exc}") from None
        event.proto_data.CopyFrom(packed)
    elif isinstance(data, bytes):
        event.binary_data = data
    elif isinstance(data, str):
        event.text_data = data
    elif data is not None:
        # Structured JSON data from another producer: AutoGen carries JSON as bytes.
        event.binary_data = json.dumps(data).encode()
    return event


def _set_json_attribute(event: CloudEvent, name: str, value: Any, hint: str | None) -> None:
    if hint is not None:
        kind = _KIND_BY_HINT[hint]
        if kind == "ce_bytes":
            set_attribute(event, name, base64.b64decode(value, validate=True), kind)
        elif kind == "ce_timestamp" and isinstance(value, datetime):
            set_attribute(event, name, value, kind)
        else:
            if not isinstance(value, str):
                raise CloudEventError(f"attribute {name!r} hinted as {hint} must be a JSON string")
            set_attribute(event, name, value, kind)
        return
    if isinstance(value, (bool, int, datetime, str)):
        set_attribute(event, name, value)
    else:
        raise CloudEventError(f"attribute {name!r} has a JSON {type(value).__name__}; CloudEvents attributes are scalars")
