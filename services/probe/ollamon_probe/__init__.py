"""ollamon probe service."""
