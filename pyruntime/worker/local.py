"""LocalRuntime: every agent in one process, no network, the same semantics as the gRPC worker."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any, Optional

from ..model import AgentId, Subscription, TopicId, direct_message_subscription
from .cancellation import CancellationToken
from .context import MessageContext
from .errors import RecipientNotFound, RpcCancelled, RpcError
from .reply_wait import await_reply
from .runtime import DEFAULT, DEFAULT_RPC_TIMEOUT, AgentFactory
from .runtime_base import RuntimeBase


class LocalRuntime(RuntimeBase):
    """Runs agents in this process: concurrent handlers, RPC through the same dispatch,
    publish to every matching subscriber except the sender.

    Errors look as they would over the network: a failing handler gives the caller an
    ``RpcError`` carrying ``str(exception)`` (with the original as ``__cause__``).
    Messages are passed by reference, not serialized.
    """

    def __init__(self, *, rpc_timeout: Optional[float] = DEFAULT_RPC_TIMEOUT, max_concurrent_handlers: int = 1024) -> None:
        super().__init__(max_concurrent_handlers=max_concurrent_handlers)
        self.rpc_timeout = rpc_timeout
        # Message ids: unique per runtime without a uuid4 per message.
        self._id_prefix = str(uuid.uuid4()) + "-"
        self._ids = itertools.count(1)

    async def register_factory(
        self, agent_type: str, factory: AgentFactory, *, expected_class: Optional[type] = None
    ) -> str:
        self._directory.register(agent_type, factory, expected_class)
        self._registered_types(expected_class)
        self._subscriptions.add(direct_message_subscription(agent_type))
        return agent_type

    async def add_subscription(self, subscription: Subscription) -> None:
        self._subscriptions.add(subscription)

    async def remove_subscription(self, subscription_id: str) -> None:
        self._subscriptions.remove(subscription_id)

    async def send_message(
        self,
        message: Any,
        recipient: AgentId,
        *,
        sender: Optional[AgentId] = None,
        timeout: Optional[float] = DEFAULT,
        cancellation: Optional[CancellationToken] = None,
    ) -> Any:
        tasks = self._require_running()
        if not self._directory.has_type(recipient.type):
            raise RecipientNotFound(f"no agent type {recipient.type!r} is registered in this runtime")
        handler_token = CancellationToken()
        ctx = MessageContext(sender, None, True, handler_token, self._id_prefix + str(next(self._ids)))
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # A caller that gives up (timeout, token) cancels the handler's token.
        reply.add_done_callback(lambda f: handler_token.cancel() if f.cancelled() else None)
        tasks.spawn(self._run_rpc, recipient, message, ctx, reply)
        wait = self.rpc_timeout if timeout is DEFAULT else timeout
        return await await_reply(reply, timeout=wait, cancellation=cancellation, action="RPC to", target=recipient)

    async def _run_rpc(self, recipient: AgentId, message: Any, ctx: MessageContext, reply: asyncio.Future[Any]) -> None:
        try:
            agent = await self._directory.get(recipient)
            result = await agent.on_message(message, ctx)
        except RecipientNotFound as exc:
            if not reply.done():
                reply.set_exception(exc)
        except asyncio.CancelledError:
            if not reply.done():
                reply.set_exception(RpcCancelled("the runtime stopped while the handler was running"))
            raise
        except Exception as exc:
            if not reply.done():
                error = RpcError(str(exc))
                error.__cause__ = exc
                reply.set_exception(error)
        else:
            if not reply.done():
                reply.set_result(result)

    async def publish_message(
        self,
        message: Any,
        topic: TopicId,
        *,
        sender: Optional[AgentId] = None,
        message_id: Optional[str] = None,
    ) -> None:
        self._require_running()
        self._deliver_event(message, topic, sender, message_id or self._id_prefix + str(next(self._ids)))

    async def stop_when_idle(self) -> None:
        """Wait until no handler is running or waiting, then stop."""
        tasks = self._require_running()
        await tasks.wait_idle()
        await self.stop()
