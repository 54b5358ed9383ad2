"""Raw gRPC against a real host: subscriptions and event fan-out."""

from __future__ import annotations

import logging

import grpc
import pytest

from pyruntime._proto import agent_worker_pb2 as pb
from tests.host.raw_peer import event
from tests.host.test_identity_registration import expect_status


async def test_add_get_remove_keep_ids_as_given(host, peers) -> None:
    a = peers(host, "A")
    await a.subscribe("t", "T", "my-id-1")
    await a.subscribe_prefix("T:", "T", "my id 2 (any string)")
    listed = await peers(host, "B").subscriptions()
    assert [(s.id, s.WhichOneof("subscription")) for s in listed] == [
        ("my-id-1", "typeSubscription"),
        ("my id 2 (any string)", "typePrefixSubscription"),
    ]
    assert listed[0].typeSubscription.topic_type == "t" and listed[1].typePrefixSubscription.topic_type_prefix == "T:"
    await a.remove("my-id-1")
    assert [s.id for s in await a.subscriptions()] == ["my id 2 (any string)"]


async def test_duplicates_are_already_exists(host, peers) -> None:
    a, b = peers(host, "A"), peers(host, "B")
    await a.subscribe("t", "T", "s1")
    details = await expect_status(b.subscribe("other", "X", "s1"), grpc.StatusCode.ALREADY_EXISTS)
    assert "s1" in details
    details = await expect_status(a.subscribe("t", "T", "s2"), grpc.StatusCode.ALREADY_EXISTS)
    assert "'s1'" in details
    await a.subscribe_prefix("t", "T", "s3")  # a prefix on the same strings is different


async def test_bad_subscription_requests_are_invalid_argument(host, peers) -> None:
    a = peers(host, "A")
    await expect_status(a.add(pb.Subscription(id="x")), grpc.StatusCode.INVALID_ARGUMENT)
    await expect_status(
        a.add(pb.Subscription(typeSubscription=pb.TypeSubscription(topic_type="t", agent_type="T"))),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await expect_status(a._add(pb.AddSubscriptionRequest(), metadata=a.metadata), grpc.StatusCode.INVALID_ARGUMENT)


async def test_remove_unknown_is_not_found_and_others_is_permission_denied(host, peers) -> None:
    a, b = peers(host, "A"), peers(host, "B")
    await expect_status(a.remove("nope"), grpc.StatusCode.NOT_FOUND)
    await a.subscribe("t", "T", "s1")
    details = await expect_status(b.remove("s1"), grpc.StatusCode.PERMISSION_DENIED)
    assert "'A'" in details
    assert [s.id for s in await b.subscriptions()] == ["s1"]


async def test_removed_subscription_stops_delivery(host, peers) -> None:
    a = peers(host, "A")
    stream = await a.serve("T", topic_type="t")
    await stream.send(event("t"))
    assert len(await stream.sync()) == 1
    await a.remove("A-T-t")
    await stream.send(event("t"))
    assert await stream.sync() == []


async def test_prefix_direction_and_exact_type_matching(host, peers) -> None:
    a = peers(host, "A")
    stream = await a.serve("A")
    await a.subscribe_prefix("A:", "A", "dm")
    await a.subscribe("exact", "A", "ex")
    publisher = peers(host, "P").open()
    for topic in ("A:x", "A", "exact", "exact2", "xA:"):
        await publisher.send(event(topic))
    await publisher.sync()  # the host has routed all five
    assert [m.cloudEvent.type for m in await stream.sync()] == ["A:x", "exact"]


async def test_one_byte_identical_copy_per_client_including_the_publisher(host, peers) -> None:
    a, b = peers(host, "A"), peers(host, "B")
    sa = await a.serve("A1", topic_type="t")
    await a.register("A2")
    await a.subscribe_prefix("t", "A2", "a2-prefix")  # A owns two matching types: still one copy
    sb = await b.serve("B1", topic_type="t")
    # Unknown field 99 and a map attribute: a re-encoding host could change these bytes.
    frame = event("t", data=b'{"x": 1}').SerializeToString() + b"\xf8\x06\x01"  # + unknown field 111
    await sa.send_bytes(frame)
    # The publisher owns matched types, so it gets its copy too (the hub echo both references make).
    assert await sa.recv_bytes() == frame
    assert await sa.sync() == []
    assert await sb.recv_bytes() == frame
    assert await sb.sync() == []
    assert host.stats.events_delivered == 2


async def test_unrouted_events_are_counted_and_logged_at_debug(host, peers, caplog) -> None:
    stream = peers(host, "P").open()
    await peers(host, "Z").subscribe("t", "Nobody", "s1")  # a subscription whose type has no owner
    caplog.set_level(logging.DEBUG, logger="pyruntime.host")
    await stream.send(event("t", source="sess-9"))
    await stream.send(event("nothing-here"))
    await stream.sync()
    assert host.stats.events_unrouted == 2
    records = [r for r in caplog.records if r.getMessage().startswith("unrouted event")]
    assert [(r.levelno, r.topic_type, r.topic_source, r.client) for r in records][:1] == [
        (logging.DEBUG, "t", "sess-9", "P")
    ]


async def test_events_are_not_logged_with_their_content(host, peers, caplog) -> None:
    a = peers(host, "A")
    stream = await a.serve("A", topic_type="t")
    caplog.set_level(logging.DEBUG, logger="pyruntime.host")
    await stream.send(event("t", data=b"SECRET-PAYLOAD"))
    await stream.sync()
    assert not any("SECRET-PAYLOAD" in r.getMessage() for r in caplog.records)


async def test_event_for_a_type_whose_owner_has_no_stream_counts_as_unrouted(host, peers) -> None:
    await peers(host, "A").register("T")  # registered, no stream
    await peers(host, "A").subscribe("t", "T", "s1")
    publisher = peers(host, "P").open()
    await publisher.send(event("t"))
    await publisher.sync()
    assert host.stats.events_unrouted == 1 and host.stats.events_delivered == 0
