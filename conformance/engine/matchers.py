"""Declarative matching of observed messages (protobuf JSON dicts) against scenario patterns.

Objects match partially (unnamed fields are ignored), lists element by element, scalars by
equality. ``$``-keys select a matcher; see ``fixtures/schema/scenario.schema.json`` ("pattern").
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass
class Captures:
    """Values captured by earlier steps, addressed as ``name`` or ``name.path.to.field``."""

    values: dict[str, Any] = field(default_factory=dict)

    def store(self, name: str, value: Any) -> None:
        self.values[name] = value

    def lookup(self, ref: str) -> Any:
        """The captured value at ``ref``; raises KeyError naming what is missing."""
        name, *path = ref.split(".")
        if name not in self.values:
            raise KeyError(f"nothing was captured as {name!r} (captured: {sorted(self.values)})")
        value = self.values[name]
        for part in path:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise KeyError(f"captured value {name!r} has no field {part!r} on the path {ref!r}")
        return value


@dataclass(frozen=True)
class Mismatch:
    """Where and why an observation differs from the pattern."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"at {self.path or '$'}: {self.reason}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if value is not _MISSING else "<absent>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_matcher(pattern: Any) -> bool:
    return isinstance(pattern, dict) and any(k.startswith("$") for k in pattern)


def match(pattern: Any, actual: Any, captures: Captures | None = None) -> list[Mismatch]:
    """All mismatches between ``pattern`` and ``actual`` (empty list = match)."""
    captures = captures if captures is not None else Captures()
    pending: list[tuple[str, Any]] = []
    mismatches = _match(pattern, actual, "", captures, exact=False, pending=pending)
    if not mismatches:
        for name, value in pending:
            captures.store(name, value)
    return mismatches


def _match(
    pattern: Any, actual: Any, path: str, captures: Captures, exact: bool, pending: list[tuple[str, Any]]
) -> list[Mismatch]:
    if _is_matcher(pattern):
        return _match_operator(pattern, actual, path, captures, exact, pending)
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return [Mismatch(path, f"expected an object, got {_short(actual)}")]
        out: list[Mismatch] = []
        for key, sub in pattern.items():
            out += _match(sub, actual.get(key, _MISSING), f"{path}.{key}", captures, exact, pending)
        if exact:
            extra = sorted(set(actual) - set(pattern))
            if extra:
                out.append(Mismatch(path, f"unexpected field(s) {extra} (exact match)"))
        return out
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return [Mismatch(path, f"expected a list of {len(pattern)}, got {_short(actual)}")]
        if len(pattern) != len(actual):
            return [Mismatch(path, f"expected {len(pattern)} element(s), got {len(actual)}: {_short(actual)}")]
        out = []
        for index, (sub, item) in enumerate(zip(pattern, actual)):
            out += _match(sub, item, f"{path}[{index}]", captures, exact, pending)
        return out
    if actual is _MISSING:
        return [Mismatch(path, f"expected {_short(pattern)}, field is absent")]
    if pattern != actual:
        return [Mismatch(path, f"expected {_short(pattern)}, got {_short(actual)}")]
    return []


def _match_operator(
    pattern: dict[str, Any], actual: Any, path: str, captures: Captures, exact: bool, pending: list[tuple[str, Any]]
) -> list[Mismatch]:
    out: list[Mismatch] = []
    for key, arg in pattern.items():
        check = _OPERATORS.get(key)
        if check is None:
            return [Mismatch(path, f"unknown matcher {key!r} in the scenario")]
        if key == "$capture":
            pending.append((str(arg), None if actual is _MISSING else actual))
            continue
        out += check(arg, actual, path, captures, exact, pending)
    return out


def _exact(arg: Any, actual: Any, path: str, captures: Captures, _e: bool, pending: list) -> list[Mismatch]:
    return _match(arg, actual, path, captures, True, pending)


def _ignore(_arg: Any, _actual: Any, _p: str, _c: Captures, _e: bool, _pending: list) -> list[Mismatch]:
    return []


def _present(arg: Any, actual: Any, path: str, _c: Captures, _e: bool, _pending: list) -> list[Mismatch]:
    if bool(arg) and actual is _MISSING:
        return [Mismatch(path, "expected the field to be present, it is absent")]
    if not bool(arg) and actual is not _MISSING:
        return [Mismatch(path, f"expected the field to be absent, got {_short(actual)}")]
    return []


def _absent(arg: Any, actual: Any, path: str, c: Captures, e: bool, pending: list) -> list[Mismatch]:
    return _present(not bool(arg), actual, path, c, e, pending)


def _regex(arg: Any, actual: Any, path: str, _c: Captures, _e: bool, _pending: list) -> list[Mismatch]:
    if not isinstance(actual, str):
        return [Mismatch(path, f"expected a string matching /{arg}/, got {_short(actual)}")]
    if re.fullmatch(str(arg), actual, flags=re.DOTALL) is None:
        return [Mismatch(path, f"{_short(actual)} does not match /{arg}/")]
    return []


def _same_as(arg: Any, actual: Any, path: str, captures: Captures, _e: bool, _pending: list) -> list[Mismatch]:
    try:
        earlier = captures.lookup(str(arg))
    except KeyError as error:
        return [Mismatch(path, str(error.args[0]))]
    if actual is _MISSING or earlier != actual:
        return [Mismatch(path, f"expected the same value as {arg!r} = {_short(earlier)}, got {_short(actual)}")]
    return []


def _any_of(arg: Any, actual: Any, path: str, captures: Captures, exact: bool, pending: list) -> list[Mismatch]:
    reasons: list[str] = []
    for option in arg:
        attempt: list[tuple[str, Any]] = []
        found = _match(option, actual, path, captures, exact, attempt)
        if not found:
            pending.extend(attempt)
            return []
        reasons.append("; ".join(str(m) for m in found[:2]))
    return [Mismatch(path, "matched none of the alternatives: " + " | ".join(reasons))]


def _contains(arg: Any, actual: Any, path: str, captures: Captures, exact: bool, pending: list) -> list[Mismatch]:
    if not isinstance(actual, list):
        actual = [] if actual is _MISSING else actual
        if not isinstance(actual, list):
            return [Mismatch(path, f"expected a list, got {_short(actual)}")]
    for item in actual:
        attempt: list[tuple[str, Any]] = []
        if not _match(arg, item, path, captures, exact, attempt):
            pending.extend(attempt)
            return []
    return [Mismatch(path, f"no element matches {_short(arg)} among {len(actual)}: {_short(actual)}")]


def _not_contains(arg: Any, actual: Any, path: str, captures: Captures, exact: bool, _p: list) -> list[Mismatch]:
    items = actual if isinstance(actual, list) else []
    for item in items:
        if not _match(arg, item, path, captures, exact, []):
            return [Mismatch(path, f"an element matches {_short(arg)} but none should: {_short(item)}")]
    return []


def _json(arg: Any, actual: Any, path: str, captures: Captures, exact: bool, pending: list) -> list[Mismatch]:
    if not isinstance(actual, str):
        return [Mismatch(path, f"expected base64 JSON bytes, got {_short(actual)}")]
    try:
        decoded = json.loads(base64.b64decode(actual))
    except (ValueError, TypeError) as error:
        return [Mismatch(path, f"bytes are not JSON ({error})")]
    return _match(arg, decoded, path + "<json>", captures, exact, pending)


def _length(arg: Any, actual: Any, path: str, _c: Captures, _e: bool, _pending: list) -> list[Mismatch]:
    size = 0 if actual is _MISSING else len(actual) if isinstance(actual, (list, dict, str)) else -1
    if size != int(arg):
        return [Mismatch(path, f"expected length {arg}, got {size}: {_short(actual)}")]
    return []


Operator = Callable[[Any, Any, str, Captures, bool, list], list[Mismatch]]

_OPERATORS: dict[str, Operator] = {
    "$exact": _exact,
    "$ignore": _ignore,
    "$present": _present,
    "$absent": _absent,
    "$regex": _regex,
    "$same_as": _same_as,
    "$capture": _ignore,
    "$any_of": _any_of,
    "$contains": _contains,
    "$not_contains": _not_contains,
    "$json": _json,
    "$len": _length,
}

MATCHER_KEYS = frozenset(_OPERATORS)
