"""A raw callee worker in its own process, for kill tests: ``python -m tests.reliability.callee_process ADDR TYPE MODE``.

MODE ``hang``: receives requests and never answers (so requests stay pending until it is
killed); ``answer``: replies to every request. Prints ``ready`` once registered with its
stream open, then ``request <id>`` per request (line-buffered, for the test to wait on).
"""

from __future__ import annotations

import asyncio
import sys

import grpc

from tests.reliability.raw_worker import RawWorker, response_message


async def serve(address: str, agent_type: str, mode: str) -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        worker = RawWorker(channel)
        await worker.register(agent_type)
        await worker.open(read=False)
        print("ready", flush=True)
        while True:
            message = await worker.call.read()
            if message is grpc.aio.EOF:
                return 0
            if message.HasField("request"):
                print("request", message.request.request_id, flush=True)
                if mode == "answer":
                    await worker.send(response_message(message.request.request_id, b'{"ok": true}'))


if __name__ == "__main__":
    address, agent_type, mode = sys.argv[1:4]
    sys.exit(asyncio.run(serve(address, agent_type, mode)))
