"""Benchmarks (not tests): data generators and timed runs; figures in docs/benchmarks.md."""
