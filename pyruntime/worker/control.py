"""Agent state over the control channel: answer Save/LoadStateRequest for local agents, and
ask other workers for theirs (``destination = "agentid=<type>/<key>"``).

Requests and responses are ``ControlMessage``s whose ``rpcMessage`` is a ``google.protobuf.Any``.
A response goes to the request's ``respond_to`` with the same ``rpc_id``; our host routes
control messages by ``destination`` (AutoGen's Python host does too).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from google.protobuf import any_pb2

from pyruntime._proto import agent_worker_pb2 as pb
from pyruntime.model import AgentId

from .errors import HostConnectionLost, RpcError
from .reply_wait import await_reply
from .runtime_base import state_from_text, state_to_text

if TYPE_CHECKING:
    from .connection import HostConnection

log = logging.getLogger("pyruntime.worker")

SaveLocal = Callable[[AgentId], Awaitable[Mapping[str, Any]]]
LoadLocal = Callable[[AgentId, Mapping[str, Any]], Awaitable[None]]


class StateControl:
    """Serves state requests for this worker's agents and sends state requests to others."""

    def __init__(self, connection: "HostConnection", save_local: SaveLocal, load_local: LoadLocal) -> None:
        self._connection = connection
        self._save_local = save_local
        self._load_local = load_local
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def reply_address(self) -> str:
        return "clientid=" + self._connection.client_id

    # -- inbound -------------------------------------------------------------------------
    def on_control_message(self, message: pb.ControlMessage) -> None:
        body = message.rpcMessage
        if body.Is(pb.SaveStateResponse.DESCRIPTOR) or body.Is(pb.LoadStateResponse.DESCRIPTOR):
            future = self._pending.pop(message.rpc_id, None)
            if future is not None and not future.done():
                future.set_result(body)
            return
        if body.Is(pb.SaveStateRequest.DESCRIPTOR) or body.Is(pb.LoadStateRequest.DESCRIPTOR):
            task = asyncio.ensure_future(self._answer(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        log.warning("control message with unsupported body %s ignored (rpc_id %s)", body.type_url, message.rpc_id)

    async def _answer(self, message: pb.ControlMessage) -> None:
        body = message.rpcMessage
        reply = any_pb2.Any()
        if body.Is(pb.SaveStateRequest.DESCRIPTOR):
            request = pb.SaveStateRequest()
            body.Unpack(request)
            response = pb.SaveStateResponse()
            try:
                state = await self._save_local(AgentId(request.agentId.type, request.agentId.key))
                response.state = state_to_text(state)
            except Exception as exc:
                response.error = f"save_state of {request.agentId.type}/{request.agentId.key} failed: {exc}"
            reply.Pack(response)
        else:
            load = pb.LoadStateRequest()
            body.Unpack(load)
            loaded = pb.LoadStateResponse()
            try:
                await self._load_local(AgentId(load.agentId.type, load.agentId.key), state_from_text(load.state))
            except Exception as exc:
                loaded.error = f"load_state of {load.agentId.type}/{load.agentId.key} failed: {exc}"
            reply.Pack(loaded)
        if not message.HasField("respond_to") or not message.respond_to:
            log.warning("state request %s has no respond_to; the answer cannot be routed", message.rpc_id)
            return
        answer = pb.ControlMessage(rpc_id=message.rpc_id, destination=message.respond_to, rpcMessage=reply)
        try:
            await self._connection.send_control(answer)
        except HostConnectionLost:
            log.warning("state answer %s dropped: not connected", message.rpc_id)

    # -- outbound ------------------------------------------------------------------------
    async def _request(self, agent_id: AgentId, body: Any, timeout: float, action: str) -> Any:
        rpc_id = str(uuid.uuid4())
        packed = any_pb2.Any()
        packed.Pack(body)
        message = pb.ControlMessage(
            rpc_id=rpc_id, destination="agentid=" + str(agent_id), respond_to=self.reply_address, rpcMessage=packed
        )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rpc_id] = future
        try:
            await self._connection.send_control(message)
            return await await_reply(future, timeout=timeout, cancellation=None, action=action, target=agent_id)
        finally:
            self._pending.pop(rpc_id, None)

    async def save_remote(self, agent_id: AgentId, timeout: float) -> Mapping[str, Any]:
        body = pb.SaveStateRequest(agentId=pb.AgentId(type=agent_id.type, key=agent_id.key))
        reply = await self._request(agent_id, body, timeout, "save_state of")
        response = pb.SaveStateResponse()
        reply.Unpack(response)
        if response.HasField("error") and response.error:
            raise RpcError(response.error)
        return state_from_text(response.state)

    async def load_remote(self, agent_id: AgentId, state: Mapping[str, Any], timeout: float) -> None:
        body = pb.LoadStateRequest(agentId=pb.AgentId(type=agent_id.type, key=agent_id.key), state=state_to_text(state))
        reply = await self._request(agent_id, body, timeout, "load_state of")
        response = pb.LoadStateResponse()
        reply.Unpack(response)
        if response.HasField("error") and response.error:
            raise RpcError(response.error)

    def fail_pending(self, error: BaseException) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
