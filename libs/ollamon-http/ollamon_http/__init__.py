"""What the two HTTP servers of ollamon (the probe's proxy, the gateway) share: limits on
their clients (`limited_protocol`), a rate-limited account of what was refused, and the
uvicorn server both run in their own event loop (`EmbeddedServer`)."""

from ollamon_http.embedded import EmbeddedServer
from ollamon_http.limits import HttpLimits, limited_protocol
from ollamon_http.refusals import Refusal, RefusalLog

__all__ = ["EmbeddedServer", "HttpLimits", "Refusal", "RefusalLog", "limited_protocol"]
