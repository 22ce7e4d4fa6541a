"""Bearer-token guard: with `OLLAMON_API_TOKEN` set, every state change must carry the token."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

BEARER_SCHEME = "BearerToken"


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, else None."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# Methods that change nothing (RFC 9110 safe methods): open without the token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def token_guard(expected_token: str | None) -> Guard:
    """A guard that lets every GET through and asks every state change (POST, PUT, DELETE)
    for the token (when one is set: an empty token is none)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not expected_token or connection.scope.get("method", "GET") in SAFE_METHODS:
            return
        presented = bearer_token(connection.headers.get("authorization", ""))
        if presented is None:
            raise NotAuthorizedException(
                detail=(
                    "this gateway needs `Authorization: Bearer <token>` on POST, PUT and"
                    " DELETE requests"
                ),
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(presented.encode(), expected_token.encode()):
            raise NotAuthorizedException(
                detail="the bearer token is not the one configured (OLLAMON_API_TOKEN)",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    return guard
