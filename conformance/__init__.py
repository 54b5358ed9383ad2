"""The AgentRpc conformance suite: declarative scenarios replayed over raw gRPC against any host."""
