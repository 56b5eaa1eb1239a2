"""Authorization servers that are not ours, for tests and benchmarks to talk to."""
