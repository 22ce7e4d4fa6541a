"""`python -m ollamon_alerting`: run the alerting service until SIGTERM or SIGINT."""

from __future__ import annotations

from ollamon_alerting.service import service_main
from ollamon_alerting.settings import AlertingSettings
from ollamon_core.events import ServiceName
from ollamon_core.runtime import configure_logging, run_service


def main() -> None:
    """Read the settings once and run the service."""
    settings = AlertingSettings()
    configure_logging(settings.log_level, ServiceName.ALERTING.value)
    run_service(service_main(settings))


if __name__ == "__main__":
    main()
