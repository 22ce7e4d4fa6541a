"""Secrets out of URLs, text and log lines: what ollamon logs, publishes, stores or returns.

An Ollama URL may carry credentials (`http://admin:pw@host:11434`, `...?key=...`). The probe
keeps the real URL to talk to Ollama; everywhere else shows `redact_url(url)`: the userinfo is
dropped (`http://host:11434`) and the value of each secret query or fragment parameter becomes
`REDACTED` (`?key=REDACTED`), so the URL still says which server and that a key is set.
`redact_text` does the same for every URL inside free text (error messages, stored JSON),
`redact_bytes` for a message as it travels, and `RedactingFilter` for every log record
(`install_log_redaction` puts it on the handlers). The event models' `ollama_url` and
`error_message` fields are `PublicUrl` and `PublicText`: an event built or parsed with a
secret in them holds the redacted value.

Parsing is urllib's (`urlsplit`, `parse_qsl`); the one regular expression only finds where a
URL starts and ends in text.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Annotated
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from pydantic import AfterValidator

REDACTED = "REDACTED"
UNPARSEABLE_URL = "[unparseable URL]"
# Query parameters whose value is a secret: the whole name, or its last word (`api_key`,
# `x-amz-security-token`, `client.secret`), compared in lower case.
SECRET_PARAMETERS = frozenset(
    {"apikey", "access_token", "refresh_token", "id_token", "sessionid", "jwt", "passphrase"}
)
SECRET_WORDS = frozenset(
    {
        "auth",
        "authorization",
        "credential",
        "credentials",
        "key",
        "passwd",
        "password",
        "pwd",
        "secret",
        "session",
        "sig",
        "signature",
        "token",
    }
)
_WORD_SEPARATORS = re.compile(r"[-_.]")
# Where a URL starts (a scheme and `://`) and ends (whitespace, a quote, a bracket of text,
# or a backslash, so that a JSON escape never becomes part of a URL).
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>\\]+")
# Punctuation that ends a sentence after a URL rather than the URL itself.
_TRAILING_PUNCTUATION = ".,;:!?)"
# A URL without any of these characters carries neither userinfo nor parameters.
_SECRET_MARKS = ("@", "?", "#")
_SECRET_BYTE_MARKS = (b"@", b"?", b"#")


def is_secret_parameter(name: str) -> bool:
    """True when a query parameter named `name` holds a secret (`token`, `api_key`, ...)."""
    lowered = name.strip().lower()
    words = _WORD_SEPARATORS.split(lowered)
    return lowered in SECRET_PARAMETERS or words[-1] in SECRET_WORDS


def _redact_parameters(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(is_secret_parameter(name) for name, _ in pairs):
        return text
    return urlencode(
        [(name, REDACTED if is_secret_parameter(name) else value) for name, value in pairs]
    )


def _redacted(parts: SplitResult) -> str:
    _ = parts.port  # raises ValueError on a netloc urllib cannot read (`admin:p#w@host`)
    netloc = parts.netloc.rpartition("@")[2]
    query = _redact_parameters(parts.query) if parts.query else ""
    fragment = parts.fragment
    if "=" in fragment:
        fragment = _redact_parameters(fragment)
    return parts._replace(netloc=netloc, query=query, fragment=fragment).geturl()


@functools.lru_cache(maxsize=256)
def redact_url(url: str) -> str:
    """`url` without userinfo and with secret parameters' values replaced by `REDACTED`.

    A URL with nothing to hide comes back unchanged. One urllib cannot read (a bad IPv6
    address, a port that is not a number because a password held an unencoded `#` or `/`)
    becomes `UNPARSEABLE_URL`: it might hold a secret that cannot be told apart.

    Examples:
        `http://admin:pw@host:11434` -> `http://host:11434`;
        `https://host/v1?api_key=abc&x=1` -> `https://host/v1?api_key=REDACTED&x=1`.
    """
    if not any(mark in url for mark in _SECRET_MARKS):
        return url
    try:
        return _redacted(urlsplit(url))
    except ValueError:
        return UNPARSEABLE_URL


def redact_text(text: str) -> str:
    """`text` with every URL in it passed through `redact_url` (the rest unchanged).

    Cheap when there is nothing to do: text without `://`, or with none of `@ ? #`, is
    returned as it is without a regular-expression scan.
    """
    if "://" not in text or not any(mark in text for mark in _SECRET_MARKS):
        return text
    return _URL_IN_TEXT.sub(_redact_match, text)


def redact_bytes(data: bytes) -> bytes:
    """UTF-8 `data` (a JSON message) through `redact_text`; the same object when unchanged."""
    if b"://" not in data or not any(mark in data for mark in _SECRET_BYTE_MARKS):
        return data
    text = data.decode("utf-8", errors="replace")
    redacted = redact_text(text)
    return data if redacted == text else redacted.encode()


# Field types of the event models: redacted whenever a model is built or parsed.
PublicUrl = Annotated[str, AfterValidator(redact_url)]
PublicText = Annotated[str, AfterValidator(redact_text)]


def _redact_match(match: re.Match[str]) -> str:
    found = match.group(0)
    url = found.rstrip(_TRAILING_PUNCTUATION)
    return redact_url(url) + found[len(url) :]


class RedactingFilter(logging.Filter):
    """Redact URLs in a log record's message, arguments, traceback and stack (never drops one).

    The message is formatted with its arguments first; when that changes anything the
    record keeps the redacted text as its message and no arguments.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact `record` in place; always True."""
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: the handler would print them raw
            record.msg = redact_text(f"{record.msg!s} (arguments: {record.args!r})")
            record.args = None
        else:
            redacted = redact_text(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Put a `RedactingFilter` on every handler of `logger` (the root logger by default).

    With no handler there, it goes on `logging.lastResort`, the handler Python uses then.
    Idempotent: a handler that has one already gets no second.
    """
    target = logger if logger is not None else logging.getLogger()
    handlers = list(target.handlers)
    if not handlers and logging.lastResort is not None:
        handlers = [logging.lastResort]
    for handler in handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
