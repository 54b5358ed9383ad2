"""Side-by-side benchmarks of AgentRpc stacks: ours, autogen-ext 0.7.5, mixed, and a raw grpc.aio forwarder.

Run ``python -m benchmarks run --help``. Every host/router and worker is a separate OS process
(multiprocessing ``spawn``); the orchestrator only sends commands and collects timings.
"""
