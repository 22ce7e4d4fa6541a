"""Benchmark scenarios, one module each (see bench/harness.py)."""
