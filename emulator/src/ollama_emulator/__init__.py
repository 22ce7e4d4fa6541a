"""A faithful Ollama emulator for tests and the demo: Ollama's wire format, native and /v1."""
