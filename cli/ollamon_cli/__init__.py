"""The `ollamon` command."""
