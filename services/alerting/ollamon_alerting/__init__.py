"""ollamon alerting service."""
