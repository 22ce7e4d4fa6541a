"""Test support code shared across the suite (not a test module)."""
