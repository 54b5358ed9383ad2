"""The routing core on its own: no sockets, no event loop."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyruntime.host.errors import (
    AgentTypeConflictError,
    DuplicateSubscriptionError,
    InvalidRequestError,
    SubscriptionNotFoundError,
    SubscriptionOwnershipError,
)
from pyruntime.host.routing import RoutingTable
from pyruntime.model import TypePrefixSubscription, TypeSubscription


def table_with_streams(*client_ids: str, policy: str = "unique") -> RoutingTable:
    table = RoutingTable(policy)  # type: ignore[arg-type]
    for client_id in client_ids:
        table.attach_stream(client_id, object())
    return table


def recipient_ids(table: RoutingTable, topic_type: str) -> list[str]:
    return [client.client_id for client in table.event_recipients(topic_type)]


def test_unique_policy_refuses_a_second_owner_and_names_the_first() -> None:
    table = table_with_streams("A", "B")
    assert table.register_agent_type("A", "T") is True
    with pytest.raises(AgentTypeConflictError) as caught:
        table.register_agent_type("B", "T")
    assert caught.value.owner == "A" and "'A'" in str(caught.value) and caught.value.status == "ALREADY_EXISTS"


def test_same_client_registering_twice_is_harmless() -> None:
    table = table_with_streams("A")
    assert table.register_agent_type("A", "T") is True
    assert table.register_agent_type("A", "T") is False
    assert [c.client_id for c in table.owners("T")] == ["A"]


def test_empty_agent_type_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        table_with_streams("A").register_agent_type("A", "")


def test_shared_policy_round_robins_rpcs_over_live_owners() -> None:
    table = table_with_streams("A", "B", "C", policy="shared")
    for client_id in "ABC":
        table.register_agent_type(client_id, "T")
    assert [table.rpc_target("T").client_id for _ in range(6)] == list("ABCABC")  # type: ignore[union-attr]
    table.client("B").connection = None  # type: ignore[union-attr]
    assert [table.rpc_target("T").client_id for _ in range(4)] == list("ACAC")  # type: ignore[union-attr]


def test_rpc_target_of_unknown_type_is_none() -> None:
    assert table_with_streams("A").rpc_target("nobody") is None


def test_type_and_prefix_matching() -> None:
    table = table_with_streams("A", "B")
    table.register_agent_type("A", "TA")
    table.register_agent_type("B", "TB")
    table.add_subscription("A", TypeSubscription("news", "TA", id="s1"))
    table.add_subscription("B", TypePrefixSubscription("TB:", "TB", id="s2"))
    assert recipient_ids(table, "news") == ["A"]
    assert recipient_ids(table, "TB:rpc") == ["B"]
    assert recipient_ids(table, "TB") == []  # the prefix direction: topic startswith prefix
    assert recipient_ids(table, "news2") == []


def test_one_copy_per_client_however_many_types_match() -> None:
    table = table_with_streams("A")
    for agent_type in ("T1", "T2"):
        table.register_agent_type("A", agent_type)
    table.add_subscription("A", TypeSubscription("t", "T1", id="s1"))
    table.add_subscription("A", TypePrefixSubscription("t", "T2", id="s2"))
    assert recipient_ids(table, "t") == ["A"]


def test_subscription_of_someone_elses_type_routes_to_the_owner() -> None:
    table = table_with_streams("A", "Z")
    table.register_agent_type("A", "T")
    table.add_subscription("Z", TypeSubscription("t", "T", id="s1"))
    assert recipient_ids(table, "t") == ["A"]
    assert table.subscription_owner("s1") == "Z"


def test_duplicates_by_id_or_by_target_are_refused() -> None:
    table = table_with_streams("A", "B")
    table.add_subscription("A", TypeSubscription("t", "T", id="s1"))
    with pytest.raises(DuplicateSubscriptionError):
        table.add_subscription("B", TypePrefixSubscription("other", "X", id="s1"))
    with pytest.raises(DuplicateSubscriptionError):
        table.add_subscription("B", TypeSubscription("t", "T", id="s2"))
    # The same strings as a prefix subscription are a different subscription.
    table.add_subscription("B", TypePrefixSubscription("t", "T", id="s3"))
    assert [s.id for s in table.subscriptions()] == ["s1", "s3"]


def test_empty_subscription_id_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        table_with_streams("A").add_subscription("A", TypeSubscription("t", "T", id=""))


def test_only_the_owner_removes_and_unknown_ids_are_not_found() -> None:
    table = table_with_streams("A", "B")
    table.add_subscription("A", TypeSubscription("t", "T", id="s1"))
    with pytest.raises(SubscriptionOwnershipError) as caught:
        table.remove_subscription("B", "s1")
    assert caught.value.status == "PERMISSION_DENIED"
    with pytest.raises(SubscriptionNotFoundError):
        table.remove_subscription("A", "nope")
    table.remove_subscription("A", "s1")
    assert table.subscriptions() == []
    # Removing frees the (topic, type) pair for a new id.
    table.add_subscription("B", TypeSubscription("t", "T", id="s9"))


def test_stream_end_releases_everything_the_client_owns() -> None:
    table = RoutingTable()
    stream = object()
    table.attach_stream("A", stream)
    table.register_agent_type("A", "T")
    table.add_subscription("A", TypeSubscription("t", "T", id="s1"))
    table.add_subscription("A", TypeSubscription("u", "Other", id="s2"))
    released = table.detach_stream("A", stream)
    assert released is not None and released.agent_types == ("T",) and released.subscription_ids == ("s1", "s2")
    assert table.subscriptions() == [] and table.owners("T") == () and table.client("A") is None
    assert recipient_ids(table, "t") == []


def test_replaced_stream_cleanup_leaves_the_new_stream_alone() -> None:
    table = RoutingTable()
    old, new = object(), object()
    table.attach_stream("A", old)
    table.register_agent_type("A", "T")
    table.add_subscription("A", TypeSubscription("t", "T", id="s1"))
    _, previous = table.attach_stream("A", new)
    assert previous is old
    assert table.detach_stream("A", old) is None
    assert table.client("A").connection is new  # type: ignore[union-attr]
    assert recipient_ids(table, "t") == ["A"] and [s.id for s in table.subscriptions()] == ["s1"]
    assert table.detach_stream("A", new) is not None


def test_streamless_registration_is_released_only_while_streamless() -> None:
    table = RoutingTable()
    table.register_agent_type("A", "T")
    client = table.client("A")
    assert client is not None and client.connection is None
    table.attach_stream("A", object())
    assert table.release_if_streamless(client) is None  # a stream arrived in time
    table2 = RoutingTable()
    table2.register_agent_type("A", "T")
    stale = table2.client("A")
    assert table2.release_if_streamless(stale) is not None  # type: ignore[arg-type]
    table2.register_agent_type("B", "T")  # the type is free again


def test_control_stream_replacement_is_identity_checked() -> None:
    table = RoutingTable()
    old, new = object(), object()
    table.attach_control("A", old)
    assert table.attach_control("A", new) is old
    assert table.detach_control("A", old) is False
    assert table.control_stream("A") is new


def test_agent_owner_is_stable_per_key_in_shared_mode() -> None:
    table = table_with_streams("A", "B", policy="shared")
    table.register_agent_type("A", "T")
    table.register_agent_type("B", "T")
    assert {table.agent_owner("T", "k1").client_id for _ in range(5)} == {table.agent_owner("T", "k1").client_id}  # type: ignore[union-attr]
    assert table.agent_owner("X", "k") is None


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        RoutingTable("exclusive")  # type: ignore[arg-type]


# ----- properties: the cached answer always equals a brute-force one ------------------

CLIENTS = ["A", "B", "C"]
TYPES = ["T1", "T2", "T3"]
TOPICS = ["", "a", "ab", "abc", "b", "T1:", "T1:x"]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.sampled_from(CLIENTS), st.sampled_from(TYPES)),
        st.tuples(st.just("sub"), st.sampled_from(CLIENTS), st.sampled_from(TOPICS), st.sampled_from(TYPES), st.booleans()),
        st.tuples(st.just("unsub"), st.sampled_from(CLIENTS), st.integers(0, 20)),
        st.tuples(st.just("drop"), st.sampled_from(CLIENTS)),
        st.tuples(st.just("ask"), st.sampled_from(TOPICS + ["zzz", "abcd"])),
    ),
    max_size=40,
)


def brute_force_recipients(table: RoutingTable, topic_type: str) -> set[str]:
    matched = {s.agent_type for s in table.subscriptions() if s.is_match(topic_type)}
    return {owner.client_id for agent_type in matched for owner in table.owners(agent_type)}


@settings(max_examples=300, deadline=None)
@given(ops=operations, policy=st.sampled_from(["unique", "shared"]))
def test_event_recipients_match_brute_force_after_any_sequence(ops: list[tuple], policy: str) -> None:
    table = RoutingTable(policy)  # type: ignore[arg-type]
    streams = {client_id: object() for client_id in CLIENTS}
    for client_id, stream in streams.items():
        table.attach_stream(client_id, stream)
    next_id = 0
    for op in ops:
        try:
            if op[0] == "register":
                table.register_agent_type(op[1], op[2])
            elif op[0] == "sub":
                _, client_id, topic, agent_type, prefix = op
                sub_cls = TypePrefixSubscription if prefix else TypeSubscription
                table.add_subscription(client_id, sub_cls(topic, agent_type, id=f"s{next_id}"))
                next_id += 1
            elif op[0] == "unsub":
                table.remove_subscription(op[1], f"s{op[2]}")
            elif op[0] == "drop":
                table.detach_stream(op[1], streams[op[1]])
                streams[op[1]] = object()
                table.attach_stream(op[1], streams[op[1]])
            else:
                got = recipient_ids(table, op[1])
                assert len(got) == len(set(got))  # one copy per client
                assert set(got) == brute_force_recipients(table, op[1])
        except (AgentTypeConflictError, DuplicateSubscriptionError, SubscriptionNotFoundError, SubscriptionOwnershipError):
            pass
        # Invariants after every step.
        owners = [c.client_id for t in TYPES for c in table.owners(t)]
        if policy == "unique":
            assert all(len(table.owners(t)) <= 1 for t in TYPES)
        assert len(owners) == sum(len(c.agent_types) for c in table.clients())
        ids = [s.id for s in table.subscriptions()]
        assert len(ids) == len(set(ids))
        for topic in TOPICS:
            assert set(recipient_ids(table, topic)) == brute_force_recipients(table, topic)
