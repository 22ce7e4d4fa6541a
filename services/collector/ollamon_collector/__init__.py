"""ollamon collector service."""
