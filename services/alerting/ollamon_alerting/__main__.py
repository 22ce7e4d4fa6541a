"""`python -m ollamon_alerting`: run the alerting service until SIGTERM or SIGINT."""

from ollamon_alerting.service import running_alerting
from ollamon_alerting.settings import AlertingSettings
from ollamon_core.events import ServiceName
from ollamon_core.runtime import run_service

if __name__ == "__main__":
    run_service(ServiceName.ALERTING, AlertingSettings, running_alerting)
