"""Insights: statistics over the stored and live series (pure functions, no I/O)."""
