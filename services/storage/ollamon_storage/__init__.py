"""ollamon storage service."""
