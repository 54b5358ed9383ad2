"""stream_guard on a real loopback gRPC server: both handler styles are guarded, and frames are
judged whichever way the handler reads them (request iterator or ``context.read()``)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import grpc
import pytest

from pyruntime.security.stream_guard import JudgedContext, JudgedRequests, guard_stream_handler

METHOD = "/test.Echo/Chat"


async def generator_echo(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    async for frame in requests:
        yield b"echo:" + frame


async def reader_writer_echo(requests: Any, context: grpc.aio.ServicerContext) -> None:
    while (frame := await context.read()) is not grpc.aio.EOF:
        await context.write(b"echo:" + frame)


async def refuse_anonymous(requests: Any, context: grpc.aio.ServicerContext) -> tuple[Any, Any]:
    if not dict(context.invocation_metadata()).get("who"):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "say who you are")

    def judge(frame: bytes) -> bool:
        if frame.startswith(b"bad"):
            context.set_code(grpc.StatusCode.PERMISSION_DENIED)
            context.set_details(f"refused frame {frame!r}")
            return False
        return True

    return JudgedRequests(requests, judge), JudgedContext(context, judge)


async def _chat(port: int, frames: list[bytes], metadata: tuple[tuple[str, str], ...]) -> tuple[list[bytes], grpc.StatusCode, str]:
    """Lockstep: write a frame, read its echo, until the server ends the call (no timing races)."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.stream_stream(METHOD)(metadata=metadata, timeout=10)
        replies: list[bytes] = []
        try:
            for frame in frames:
                await call.write(frame)  # fails once the server has ended the call
                reply = await call.read()
                if reply is grpc.aio.EOF:
                    break
                replies.append(reply)
            else:
                await call.done_writing()
        except grpc.aio.AioRpcError:
            pass
        return replies, await call.code(), await call.details()


@pytest.mark.parametrize("behavior", [generator_echo, reader_writer_echo], ids=["async-generator", "reader-writer"])
async def test_guard_keeps_the_handler_style_and_judges_every_frame(behavior: Any) -> None:
    guarded = guard_stream_handler(behavior, refuse_anonymous)
    assert asyncio.iscoroutinefunction(guarded) == asyncio.iscoroutinefunction(behavior)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "test.Echo", {"Chat": grpc.stream_stream_rpc_method_handler(guarded)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        replies, code, details = await _chat(port, [b"one", b"two"], (("who", "me"),))
        assert (replies, code) == ([b"echo:one", b"echo:two"], grpc.StatusCode.OK)
        # The refused frame and everything after it never reach the handler.
        replies, code, details = await _chat(port, [b"one", b"bad!", b"three"], (("who", "me"),))
        assert replies == [b"echo:one"]
        assert code == grpc.StatusCode.PERMISSION_DENIED and "bad!" in details
        replies, code, details = await _chat(port, [b"one"], ())
        assert (replies, code, details) == ([], grpc.StatusCode.UNAUTHENTICATED, "say who you are")
    finally:
        await server.stop(None)
