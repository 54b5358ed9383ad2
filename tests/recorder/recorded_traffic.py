"""A scripted session of raw AgentRpc clients, run through a recording proxy (used by several tests)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime._proto import agent_worker_pb2_grpc as pb_grpc

WAIT = 5.0


@dataclass(frozen=True)
class SessionIds:
    """The random values the session used (the scenario must not contain them literally)."""

    client_a: str
    client_b: str
    subscription: str
    event: str


def _event(event_id: str) -> pb.Message:
    message = pb.Message()
    event = message.cloudEvent
    event.id, event.source, event.type, event.spec_version = event_id, "room-1", "rec_topic", "1.0"
    event.attributes["datacontenttype"].ce_string = "application/json"
    event.attributes["dataschema"].ce_string = "ChatMessage"
    stamp = timestamp_pb2.Timestamp()
    stamp.FromJsonString("2026-01-02T03:04:05.678Z")
    event.attributes["time"].ce_timestamp.CopyFrom(stamp)
    event.binary_data = b'{"content": "hi \\u2713", "source": "b"}'
    return message


async def run_session(address: str) -> SessionIds:
    """Two clients, A (hosts rec_a) and B, plus one call without client-id; see the test module for the list."""
    ids = SessionIds(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    a_md, b_md = (("client-id", ids.client_a),), (("client-id", ids.client_b),)
    async with grpc.aio.insecure_channel(address) as channel_a, grpc.aio.insecure_channel(address) as channel_b:
        a, b = pb_grpc.AgentRpcStub(channel_a), pb_grpc.AgentRpcStub(channel_b)
        a_stream, b_stream = a.OpenChannel(metadata=a_md), b.OpenChannel(metadata=b_md)
        a_control, b_control = a.OpenControlChannel(metadata=a_md), b.OpenControlChannel(metadata=b_md)
        await a.RegisterAgent(pb.RegisterAgentTypeRequest(type="rec_a"), metadata=a_md, timeout=WAIT)
        subscription = pb.Subscription(id=ids.subscription, typeSubscription=pb.TypeSubscription(topic_type="rec_topic", agent_type="rec_a"))
        await a.AddSubscription(pb.AddSubscriptionRequest(subscription=subscription), metadata=a_md, timeout=WAIT)
        try:
            await b.RegisterAgent(pb.RegisterAgentTypeRequest(type="rec_a"), metadata=b_md, timeout=WAIT)
        except grpc.aio.AioRpcError as error:
            # autogen's host says INVALID_ARGUMENT, ours ALREADY_EXISTS (a documented deviation)
            assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS)
        try:
            await b.GetSubscriptions(pb.GetSubscriptionsRequest(), timeout=WAIT)  # no client-id at all
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        listed = await b.GetSubscriptions(pb.GetSubscriptionsRequest(), metadata=b_md, timeout=WAIT)
        assert any(s.id == ids.subscription for s in listed.subscriptions)

        await b_stream.write(_event(ids.event))
        assert (await asyncio.wait_for(a_stream.read(), WAIT)).cloudEvent.id == ids.event

        request = pb.RpcRequest(request_id="1", target=pb.AgentId(type="rec_a", key="k"),
                                payload=pb.Payload(data_type="Question", data_content_type="application/json", data=b'{"text": "q"}'))
        await b_stream.write(pb.Message(request=request))
        seen = (await asyncio.wait_for(a_stream.read(), WAIT)).request
        reply = pb.RpcResponse(request_id=seen.request_id,
                               payload=pb.Payload(data_type="Answer", data_content_type="application/json", data=b'{"text": "a"}'))
        await a_stream.write(pb.Message(response=reply))
        assert (await asyncio.wait_for(b_stream.read(), WAIT)).response.request_id == "1"

        control = pb.ControlMessage(rpc_id="ctl-1", destination=f"clientid={ids.client_b}", respond_to=f"clientid={ids.client_a}")
        control.rpcMessage.Pack(pb.SaveStateRequest(agentId=pb.AgentId(type="rec_a", key="k")))
        await a_control.write(control)
        got = await asyncio.wait_for(b_control.read(), WAIT)
        assert got.rpc_id == "ctl-1"

        await a.RemoveSubscription(pb.RemoveSubscriptionRequest(id=ids.subscription), metadata=a_md, timeout=WAIT)
        b_stream.cancel()  # B leaves mid-session
        await asyncio.sleep(0)  # let the cancel go out before A's last call (ordering of the recording)
        await a.GetSubscriptions(pb.GetSubscriptionsRequest(), metadata=a_md, timeout=WAIT)
        for call in (a_stream, a_control, b_control):
            call.cancel()
    return ids
