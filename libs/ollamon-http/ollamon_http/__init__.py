"""What the two HTTP servers of ollamon (the probe's proxy, the gateway) share: limits on
their clients (`limited_protocol`) and a rate-limited account of what was refused."""

from ollamon_http.limits import HttpLimits, limited_protocol
from ollamon_http.refusals import Refusal, RefusalLog

__all__ = ["HttpLimits", "Refusal", "RefusalLog", "limited_protocol"]
