"""The Prometheus metrics of `/metrics`, one module per job: requests, host and GPUs, Ollama
and its models, ollamon's own services. `ollamon_gateway.exporter` puts them together."""
