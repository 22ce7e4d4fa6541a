# ollamon recipes; each one calls bootstrap.py, which needs only Python 3.11+ and pip.

# start the whole stack (embedded NATS, five services, dashboard)
up:
    python3 bootstrap.py up

# the stack with an Ollama emulator and demo traffic
demo:
    python3 bootstrap.py demo

# the whole test suite
test *args:
    python3 bootstrap.py test {{args}}

# ruff and mypy, as CI runs them
lint:
    python3 bootstrap.py lint

# every benchmark scenario; prints ratios and writes bench/results/*.json
bench *args:
    python3 bootstrap.py bench {{args}}
