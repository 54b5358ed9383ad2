"""The replay engine: load scenarios, drive raw gRPC peers, match observations, keep traces."""
