"""A faithful Ollama emulator for tests and the demo (wire format in DESIGN.md)."""
