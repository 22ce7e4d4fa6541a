"""`python -m ollamon_notifier`: run the notifier until SIGTERM or SIGINT."""

from ollamon_core.events import ServiceName
from ollamon_core.runtime import run_service
from ollamon_notifier.service import running_notifier
from ollamon_notifier.settings import NotifierSettings

if __name__ == "__main__":
    run_service(ServiceName.NOTIFIER, NotifierSettings, running_notifier)
