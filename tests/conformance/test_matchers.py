"""Each matcher accepts the right observation and rejects a wrong one."""

from __future__ import annotations

import base64
import json

import pytest

from conformance.engine.matchers import Captures, match


def ok(pattern, actual, captures=None) -> bool:
    return not match(pattern, actual, captures)


def test_partial_object_ignores_unnamed_fields_but_checks_named_ones() -> None:
    assert ok({"a": 1}, {"a": 1, "b": 2})
    assert not ok({"a": 1}, {"a": 2, "b": 2})
    assert not ok({"a": 1}, {"b": 2})


def test_exact_rejects_extra_fields_and_honours_ignore() -> None:
    assert ok({"$exact": {"a": 1}}, {"a": 1})
    assert not ok({"$exact": {"a": 1}}, {"a": 1, "b": 2})
    assert ok({"$exact": {"a": 1, "b": {"$ignore": True}}}, {"a": 1, "b": 99})
    assert ok({"$exact": {"a": 1, "b": {"$ignore": True}}}, {"a": 1})


def test_present_and_absent() -> None:
    assert ok({"e": {"$absent": True}}, {})
    assert not ok({"e": {"$absent": True}}, {"e": "boom"})
    assert ok({"e": {"$present": True}}, {"e": ""})
    assert not ok({"e": {"$present": True}}, {})


def test_regex_is_a_full_match_on_strings_only() -> None:
    assert ok({"$regex": "ab+"}, "abbb")
    assert not ok({"$regex": "ab+"}, "xabbb")
    assert not ok({"$regex": ".+"}, "")
    assert not ok({"e": {"$regex": ".*"}}, {})


def test_capture_then_same_as() -> None:
    captures = Captures()
    assert ok({"id": {"$capture": "rid"}}, {"id": "42"}, captures)
    assert captures.lookup("rid") == "42"
    assert ok({"$same_as": "rid"}, "42", captures)
    assert not ok({"$same_as": "rid"}, "43", captures)
    assert not ok({"$same_as": "never"}, "42", captures)


def test_capture_is_not_stored_when_the_match_fails() -> None:
    captures = Captures()
    assert not ok({"id": {"$capture": "rid"}, "x": 1}, {"id": "42", "x": 2}, captures)
    with pytest.raises(KeyError):
        captures.lookup("rid")


def test_same_as_walks_a_dotted_path() -> None:
    captures = Captures({"ev": {"cloudEvent": {"id": "e1", "attributes": {"k": {"ceString": "v"}}}}})
    assert ok({"$same_as": "ev.cloudEvent.id"}, "e1", captures)
    assert not ok({"$same_as": "ev.cloudEvent.id"}, "e2", captures)


def test_any_of() -> None:
    assert ok({"$any_of": [1, {"$regex": "x+"}]}, "xx")
    assert ok({"$any_of": [1, {"$regex": "x+"}]}, 1)
    assert not ok({"$any_of": [1, {"$regex": "x+"}]}, "y")


def test_contains_and_not_contains() -> None:
    items = [{"id": "a"}, {"id": "b"}]
    assert ok({"$contains": {"id": "b"}}, items)
    assert not ok({"$contains": {"id": "c"}}, items)
    assert ok({"$not_contains": {"id": "c"}}, items)
    assert not ok({"$not_contains": {"id": "a"}}, items)
    assert not ok({"$contains": {"id": "a"}}, [])


def test_json_decodes_base64_bytes() -> None:
    data = base64.b64encode(json.dumps({"to": "c1"}).encode()).decode()
    assert ok({"$json": {"to": "c1"}}, data)
    assert not ok({"$json": {"to": "c2"}}, data)
    assert not ok({"$json": {}}, base64.b64encode(b"\xff").decode())


def test_lists_match_element_by_element_and_length() -> None:
    assert ok([1, 2], [1, 2])
    assert not ok([1, 2], [1, 2, 3])
    assert not ok([1, 2], [2, 1])
    assert ok({"$len": 2}, [1, 2])
    assert not ok({"$len": 1}, [1, 2])


def test_mismatch_names_the_path() -> None:
    problems = match({"response": {"requestId": "r1"}}, {"response": {"requestId": "r2"}})
    assert len(problems) == 1
    assert problems[0].path == ".response.requestId"
    assert "r1" in problems[0].reason and "r2" in problems[0].reason


def test_unknown_matcher_is_reported() -> None:
    assert not ok({"$frobnicate": 1}, 1)
