"""Wrapping gRPC method handlers with a guard (the client-id and tenant guards share this).

``guard_method_handler`` rebuilds a method handler around guarded behaviour with the same
(de)serializers. For streams, ``guard_stream_handler`` keeps the handler's API style:

grpc.aio tells the two styles apart by inspecting the handler function: an async generator
yields responses (and reads the request iterator); a coroutine uses the reader/writer API
(``context.read()`` / ``context.write()``), as our host does. A wrapper must therefore be of
the same kind as the handler it wraps, and a guard that inspects inbound frames must see
them on both paths: the request iterator and ``context.read()``.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, AsyncIterator, Awaitable, Callable

import grpc

Behavior = Callable[..., Any]


def guard_method_handler(
    handler: grpc.RpcMethodHandler, *, stream: Callable[[Behavior], Behavior], unary: Callable[[Behavior], Behavior]
) -> grpc.RpcMethodHandler:
    """``handler`` with its stream-stream behaviour passed through ``stream`` and its unary-unary
    behaviour through ``unary``; same (de)serializers. AgentRpc has no half-streaming methods."""
    kwargs = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(stream(handler.stream_stream), **kwargs)
    if not handler.request_streaming and not handler.response_streaming:
        return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), **kwargs)
    return handler


Prepare = Callable[[Any, grpc.aio.ServicerContext], Awaitable[tuple[Any, Any]]]
"""Runs before the handler: may abort the call, and returns the (requests, context) to hand on."""


def guard_stream_handler(behavior: Callable[..., Any], prepare: Prepare) -> Callable[..., Any]:
    """``behavior`` wrapped so that ``prepare`` runs first; same handler style as ``behavior``."""
    if inspect.isasyncgenfunction(behavior):

        async def guarded_generator(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            requests, context = await prepare(requests, context)
            # aclosing: when the call ends, the host's stream cleanup runs now, not at garbage collection.
            async with contextlib.aclosing(behavior(requests, context)) as inner:
                async for item in inner:
                    yield item

        return guarded_generator

    async def guarded(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        requests, context = await prepare(requests, context)
        return await behavior(requests, context)

    return guarded


FrameJudge = Callable[[Any], bool]
"""True to let an inbound frame through; False ends the request stream there (the judge
sets the call's status and details first)."""


class JudgedRequests:
    """The request iterator, ending at the first frame the judge refuses.

    A plain async iterator, not an async generator: the host may read it from its own reader
    task, and an async generator there could be closed from the call's task while suspended.
    """

    __slots__ = ("_frames", "_iterator", "_judge")

    def __init__(self, frames: Any, judge: FrameJudge) -> None:
        self._frames = frames
        self._iterator: Any = None  # made on first use: an unused grpc request iterator stays unstarted
        self._judge = judge

    def __aiter__(self) -> "JudgedRequests":
        return self

    async def __anext__(self) -> Any:
        if self._iterator is None:
            self._iterator = self._frames.__aiter__()
        frame = await self._iterator.__anext__()
        if not self._judge(frame):
            raise StopAsyncIteration
        return frame


class JudgedContext:
    """The servicer context with ``read()`` judged: a refused frame reads as end of stream.

    Everything else is the real context's (``write``, ``abort``, ``set_code``, metadata, ...).
    """

    __slots__ = ("_context", "_judge")

    def __init__(self, context: grpc.aio.ServicerContext, judge: FrameJudge) -> None:
        self._context = context
        self._judge = judge

    async def read(self) -> Any:
        frame = await self._context.read()
        if frame is grpc.aio.EOF or self._judge(frame):
            return frame
        return grpc.aio.EOF

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)
