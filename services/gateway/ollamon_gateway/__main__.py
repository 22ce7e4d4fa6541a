"""`python -m ollamon_gateway`: REST, SSE and the dashboard, until SIGTERM or SIGINT."""

from ollamon_core.events import ServiceName
from ollamon_core.runtime import run_service
from ollamon_gateway.service import running_gateway
from ollamon_gateway.settings import GatewaySettings

if __name__ == "__main__":
    run_service(ServiceName.GATEWAY, GatewaySettings, running_gateway)
