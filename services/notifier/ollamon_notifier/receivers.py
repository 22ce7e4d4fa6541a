"""Sending one notification to one receiver, once: HTTP (httpx) or SMTP (aiosmtplib).

An attempt ends as an `AttemptResult`: taken, or failed for now (retry), or refused for
good (`permanent`: an HTTP 4xx other than 408/425/429, an SMTP 5xx reply). Errors are
redacted (`redact_text`) before they leave this module; secrets (the HMAC key, tokens,
passwords, header values) are only ever put on the wire.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosmtplib
import httpx

from ollamon_core.events import ReceiverKind, utc_now
from ollamon_core.events.notifications import MAX_DELIVERY_ERROR_CHARS
from ollamon_core.redaction import redact_text
from ollamon_notifier.payloads import (
    Notification,
    alertmanager_alerts,
    email_message,
    ntfy_message,
    slack_payload,
    webhook_payload,
)
from ollamon_notifier.routing import Receiver

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Ollamon-Signature"
SIGNATURE_PREFIX = "sha256="
ALERTMANAGER_PATH = "/api/v2/alerts"
RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})
USER_AGENT = "ollamon-notifier/0.1"


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt went: `ok`, else why (`error`, redacted) and whether to try again."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False
    latency_ms: float = 0.0


def signature(secret: bytes, body: bytes) -> str:
    """The value of the signature header: `sha256=` and the HMAC-SHA256 of the body, in hex.

    A receiver checks it by computing the same over the raw body it received with the
    shared key and comparing in constant time (`hmac.compare_digest`).
    """
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _error_text(text: str) -> str:
    return redact_text(" ".join(text.split()))[:MAX_DELIVERY_ERROR_CHARS]


def _json_body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def alertmanager_url(base: str) -> str:
    """The alerts endpoint of an Alertmanager given by its base URL (or the endpoint)."""
    trimmed = base.rstrip("/")
    return trimmed if trimmed.endswith(ALERTMANAGER_PATH) else trimmed + ALERTMANAGER_PATH


class Sender:
    """Sends notifications to the receivers of one routing configuration.

    One HTTP client (connection pool) for every HTTP receiver; an SMTP session per email,
    with the TLS context of its receiver (made once: reading certificates blocks).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        tls_contexts: dict[str, ssl.SSLContext],
        *,
        timeout_seconds: float,
        alertmanager_resend_seconds: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.http = http
        self.tls_contexts = tls_contexts
        self.timeout_seconds = timeout_seconds
        self.alertmanager_resend_seconds = alertmanager_resend_seconds
        self.clock = clock

    @classmethod
    async def open(
        cls,
        receivers: list[Receiver],
        *,
        timeout_seconds: float,
        alertmanager_resend_seconds: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> Sender:
        """A sender for `receivers`; certificates are read in a worker thread."""

        def prepare() -> tuple[httpx.AsyncClient, dict[str, ssl.SSLContext]]:
            http = httpx.AsyncClient(
                timeout=timeout_seconds, headers={"User-Agent": USER_AGENT}, follow_redirects=False
            )
            contexts = {
                receiver.name: ssl.create_default_context(
                    cafile=str(receiver.ca_file) if receiver.ca_file else None
                )
                for receiver in receivers
                if receiver.kind is ReceiverKind.EMAIL
            }
            return http, contexts

        http, contexts = await asyncio.to_thread(prepare)
        return cls(
            http,
            contexts,
            timeout_seconds=timeout_seconds,
            alertmanager_resend_seconds=alertmanager_resend_seconds,
            clock=clock,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()

    async def send(self, receiver: Receiver, notification: Notification) -> AttemptResult:
        """Try once; never raises for what the receiver or the network did, nor for an
        alert it cannot build a message from (refused for good: one poison alert must not
        stop the notifier, which would get it again at every start)."""
        started = time.perf_counter()
        try:
            if receiver.kind is ReceiverKind.EMAIL:
                result = await self._send_email(receiver, notification)
            else:
                result = await self._send_http(receiver, notification)
        except Exception as error:  # a bug here must cost one notification, not the service
            log.exception("could not send to %s", receiver.name)
            text = f"internal error: {type(error).__name__}: {error}"
            result = AttemptResult(ok=False, error=_error_text(text), permanent=True)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return AttemptResult(
            ok=result.ok,
            status_code=result.status_code,
            error=result.error,
            permanent=result.permanent,
            latency_ms=latency_ms,
        )

    def http_request(
        self, receiver: Receiver, notification: Notification
    ) -> tuple[str, bytes, dict[str, str]]:
        """The URL, body and headers of the HTTP request for a notification."""
        url = receiver.url or ""
        headers = {name: value.get_secret_value() for name, value in receiver.headers.items()}
        match receiver.kind:
            case ReceiverKind.WEBHOOK:
                body = _json_body(webhook_payload(notification))
                headers["Content-Type"] = "application/json"
                if receiver.hmac_secret is not None:
                    key = receiver.hmac_secret.get_secret_value().encode()
                    headers[SIGNATURE_HEADER] = signature(key, body)
            case ReceiverKind.ALERTMANAGER:
                alerts = alertmanager_alerts(
                    notification, self.clock(), self.alertmanager_resend_seconds
                )
                url, body = alertmanager_url(url), _json_body(alerts)
                headers["Content-Type"] = "application/json"
            case ReceiverKind.SLACK:
                body = _json_body(slack_payload(notification))
                headers["Content-Type"] = "application/json"
            case _:  # ntfy
                text, ntfy_headers = ntfy_message(notification)
                body = text.encode()
                headers.update(ntfy_headers)
        if receiver.token is not None:
            headers["Authorization"] = f"Bearer {receiver.token.get_secret_value()}"
        return url, body, headers

    async def _send_http(self, receiver: Receiver, notification: Notification) -> AttemptResult:
        url, body, headers = self.http_request(receiver, notification)
        try:
            response = await self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            # An error may quote the URL, whose path may be the secret (a Slack webhook).
            text = f"{type(error).__name__}: {error}".replace(url, receiver.public_url)
            return AttemptResult(ok=False, error=_error_text(text))
        status = response.status_code
        if 200 <= status < 300:
            return AttemptResult(ok=True, status_code=status)
        permanent = 400 <= status < 500 and status not in RETRYABLE_HTTP_STATUSES
        reason = response.text[:200] if response.text else response.reason_phrase
        return AttemptResult(
            ok=False,
            status_code=status,
            error=_error_text(f"HTTP {status}: {reason}"),
            permanent=permanent,
        )

    async def _send_email(self, receiver: Receiver, notification: Notification) -> AttemptResult:
        message = email_message(notification, receiver.sender or "", receiver.to)
        try:
            await aiosmtplib.send(
                message,
                hostname=receiver.smtp_host,
                port=receiver.smtp_port,
                username=receiver.username,
                password=receiver.password.get_secret_value() if receiver.password else None,
                start_tls=receiver.starttls,
                tls_context=self.tls_contexts.get(receiver.name),
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPResponseException as error:
            return AttemptResult(
                ok=False,
                status_code=error.code,
                error=_error_text(f"SMTP {error.code}: {error.message}"),
                permanent=500 <= error.code < 600,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            return AttemptResult(ok=False, error=_error_text(f"{type(error).__name__}: {error}"))
        return AttemptResult(ok=True, status_code=250)
