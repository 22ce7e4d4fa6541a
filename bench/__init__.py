"""ollamon's benchmark harness: `python -m bench` (or `just bench`)."""
