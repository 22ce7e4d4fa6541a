"""`python -m ollamon_collector`: the collector service, until SIGTERM or SIGINT."""

from ollamon_collector.service import running_collector
from ollamon_collector.settings import CollectorSettings
from ollamon_core.events import ServiceName
from ollamon_core.runtime import run_service

if __name__ == "__main__":
    run_service(ServiceName.COLLECTOR, CollectorSettings, running_collector)
