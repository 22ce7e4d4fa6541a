"""State changes only from the gateway's own pages, and only as JSON.

Two guards on every route (GETs pass through them untouched):

- `same_origin_guard`: a POST that a browser sent from another site is refused (403). The
  browser says where a request comes from: `Sec-Fetch-Site` (every current browser), else
  `Origin`, else `Referer`. A request with none of them was not sent by a web page (curl, a
  script, `ollamon selftest`) and passes; the bearer token, when set, decides about it.
  This is the check of Go's `net/http.CrossOriginProtection`, plus `Referer` for browsers
  that send no `Origin`.
- `json_body_guard`: a POST with a body must say `Content-Type: application/json` (415
  otherwise), which no HTML form and no cross-site `fetch` without a CORS preflight can send;
  the body is parsed here, so JSON nested too deeply for the parser is a 400, not a 500.

The `Host` header itself (DNS rebinding) is checked before any of this, by Litestar's
allowed-hosts middleware (`AllowedHostsConfig` in app.py). docs/decisions/0006 says why
there is no CSRF cookie.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection, Request
from litestar.exceptions import HTTPException, PermissionDeniedException, SerializationException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from ollamon_gateway.problems import bad_request

# Methods that change nothing (RFC 9110 safe methods): never checked.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# `Sec-Fetch-Site` values of a request the page's own origin made, or the user typed.
OWN_SITE_VALUES = frozenset({"same-origin", "none"})
JSON_MEDIA_TYPE = "application/json"


def host_matches(netloc: str, patterns: Sequence[str]) -> bool:
    """Whether `netloc` is one of `patterns` (`*.example.org` for any subdomain).

    A bare `*` matches nothing here: it turns the `Host` check off, it does not make every
    site the gateway's own.
    """
    netloc = netloc.lower()
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.startswith("*."):
            if netloc.endswith(pattern[1:]):
                return True
        elif pattern == netloc:
            return True
    return False


def same_origin_guard(own_hosts: Sequence[str]) -> Guard:
    """Refuse (403) a state change that a web page of another origin made a browser send.

    A page is the gateway's own when its origin's `host[:port]` is the request's `Host`
    or one of `own_hosts` (the allowed `Host` values: a reverse proxy may pass on a `Host`
    of its own while the browser names the public one).
    """

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method", "GET") in SAFE_METHODS:
            return
        headers = connection.headers
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site in OWN_SITE_VALUES:
            return
        source = headers.get("origin") or headers.get("referer")
        if source is None and fetch_site is None:
            return  # not sent by a web page
        netloc = urlsplit(source).netloc if source else ""
        if netloc and (
            netloc.lower() == headers.get("host", "").lower() or host_matches(netloc, own_hosts)
        ):
            return
        raise PermissionDeniedException(
            detail=(
                f"cross-origin request refused: a page of {source or 'another site'!s} may not"
                " change this gateway (state changes come from the dashboard's own origin,"
                " or from a client that is not a browser)"
            )
        )

    return guard


async def json_body_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A state change's body is JSON, declared so (415), and parseable (400)."""
    if connection.scope.get("method", "GET") in SAFE_METHODS or not isinstance(connection, Request):
        return
    content_type = connection.headers.get("content-type")
    body = await connection.body()
    if content_type is None and not body:
        return  # no body at all: e.g. `monitoring/stop`
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise HTTPException(
            status_code=415,
            detail=(
                f"state changes take `Content-Type: {JSON_MEDIA_TYPE}`, "
                f"not {content_type or 'a body without a content type'!s}"
            ),
            headers={"Accept-Post": JSON_MEDIA_TYPE},
        )
    if not body:
        return
    try:
        await connection.json()  # kept on the request: the handler does not parse it again
    except RecursionError as error:
        raise bad_request("the JSON body is nested too deeply") from error
    except SerializationException as error:
        raise bad_request(f"the body is not valid JSON: {error}") from error
