"""The worker side: the agent API, LocalRuntime and GrpcWorkerRuntime.

Modules, one job each:
    agent           Agent base class; @handler/@event/@rpc decorators; @subscribe
    context         MessageContext (per message) and AgentContext (per agent)
    cancellation    CancellationToken
    errors          the runtime exception tree
    runtime         the AgentRuntime interface both runtimes implement
    runtime_base    what both runtimes share (directory, subscriptions, tasks, state)
    directory       agent types and lazily created instances
    subscriptions   a runtime's own subscription table and topic lookup
    handler_tasks   bounded, owned handler tasks
    reply_wait      waiting for a reply with timeout and cancellation
    local           LocalRuntime
    serialization   payload formats for the gRPC worker
    connection      the stream to the host, reconnect with backoff
    control         agent state over the control channel
    grpc_runtime    GrpcWorkerRuntime
    command         ``agentrpc worker``
"""
