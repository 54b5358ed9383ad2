"""Reports of conformance runs: results JSON per target, and the case x target compatibility matrix."""
