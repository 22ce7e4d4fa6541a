"""ollamon gateway service."""
