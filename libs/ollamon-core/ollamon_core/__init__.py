"""Shared code of ollamon: event models, subject names, the NATS bus wrapper and settings."""

__version__ = "0.1.0"
