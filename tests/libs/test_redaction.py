"""Secrets never leave: URL, text and log-record redaction (`ollamon_core.redaction`)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from ollamon_core.events import (
    LifecycleChange,
    ModelLifecycleEvent,
    OllamaHealth,
    OllamaModelMetrics,
    OllamaModelsSnapshot,
)
from ollamon_core.redaction import (
    REDACTED,
    UNPARSEABLE_URL,
    RedactingFilter,
    install_log_redaction,
    is_secret_parameter,
    redact_bytes,
    redact_text,
    redact_url,
)

PASSWORD = "s3cret-pw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:s3cret-pw@host:11434", "http://host:11434"),
        ("https://admin:s3cret-pw@host/ollama/", "https://host/ollama/"),
        ("http://token-only@127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("http://admin:s%40cret@[::1]:11434/x", "http://[::1]:11434/x"),
        ("nats://ollamon:s3cret-pw@10.0.0.2:4222", "nats://10.0.0.2:4222"),
    ],
)
def test_userinfo_is_dropped_and_the_rest_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h/v1?api_key=abc&x=1", f"https://h/v1?api_key={REDACTED}&x=1"),
        ("http://h/?token=a&Key=b&monkey=c", f"http://h/?token={REDACTED}&Key={REDACTED}&monkey=c"),
        ("http://h/?access_token=a", f"http://h/?access_token={REDACTED}"),
        (
            "http://h/?X-Amz-Signature=a&password=",
            f"http://h/?X-Amz-Signature={REDACTED}&password={REDACTED}",
        ),
        ("http://h/cb#access_token=a&state=1", f"http://h/cb#access_token={REDACTED}&state=1"),
        ("http://u:p@h:1/?key=a", f"http://h:1/?key={REDACTED}"),
    ],
)
def test_secret_parameters_keep_their_name_and_lose_their_value(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11434",
        "http://host:11434/api?model=llama3.2&stream=true",
        "https://[::1]:8443/#section",
        "http://h/?q=a+b%2Fc&monkey=1",
    ],
)
def test_a_url_with_nothing_to_hide_comes_back_unchanged(url: str) -> None:
    assert redact_url(url) == url


@pytest.mark.parametrize("name", ["token", "KEY", "api_key", "apikey", "api-key", "client.secret"])
def test_secret_parameter_names_are_recognised(name: str) -> None:
    assert is_secret_parameter(name)


@pytest.mark.parametrize("name", ["model", "monkey", "keys_count", "stream", "tokens"])
def test_ordinary_parameter_names_are_not_secret(name: str) -> None:
    assert not is_secret_parameter(name)


def test_a_url_urllib_cannot_read_is_replaced_as_a_whole() -> None:
    # An unencoded `#` in a password: urllib reads `p` as the port; the rest is a fragment.
    assert redact_url("http://admin:p#ss@host:11434") == UNPARSEABLE_URL


def test_every_url_in_text_is_redacted_and_the_words_around_it_kept() -> None:
    text = (
        f"could not reach Ollama at http://admin:{PASSWORD}@host:11434: refused; "
        f"for url 'http://admin:{PASSWORD}@host:11434/api/version?key={PASSWORD}'."
    )
    assert redact_text(text) == (
        "could not reach Ollama at http://host:11434: refused; "
        f"for url 'http://host:11434/api/version?key={REDACTED}'."
    )


def test_urls_in_json_text_are_redacted_and_the_json_stays_valid() -> None:
    data = f'{{"ollama_url":"http://admin:{PASSWORD}@h:1","error_message":"at \\"http://a:{PASSWORD}@h\\""}}'
    redacted = redact_text(data)
    assert PASSWORD not in redacted
    assert redacted == '{"ollama_url":"http://h:1","error_message":"at \\"http://h\\""}'


def test_text_without_urls_or_secret_marks_is_returned_as_is() -> None:
    for text in ("plain words @ home", "http://127.0.0.1:11434 is up", ""):
        assert redact_text(text) is text


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own whose one handler writes formatted lines to a buffer."""
    logger = logging.getLogger("tests.redaction")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_the_filter_redacts_urls_in_messages_and_arguments(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = captured
    install_log_redaction(logger)
    logger.info(
        "Ollama proxy on %s -> %s", "http://127.0.0.1:11435", f"http://admin:{PASSWORD}@h:1"
    )
    logger.warning(f"direct http://u:{PASSWORD}@h/x?token={PASSWORD} in the message")
    logger.info("marker-%d %s", 7, "http://plain:11434")
    lines = buffer.getvalue().splitlines()
    assert lines == [
        "INFO Ollama proxy on http://127.0.0.1:11435 -> http://h:1",
        f"WARNING direct http://h/x?token={REDACTED} in the message",
        "INFO marker-7 http://plain:11434",
    ]


def test_the_filter_redacts_tracebacks(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = captured
    install_log_redaction(logger)
    try:
        raise ConnectionError(f"cannot reach http://admin:{PASSWORD}@host:11434")
    except ConnectionError:
        logger.exception("poll failed")
    text = buffer.getvalue()
    assert "ConnectionError: cannot reach http://host:11434" in text
    assert PASSWORD not in text


def test_the_filter_survives_a_message_whose_arguments_do_not_fit(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = captured
    install_log_redaction(logger)
    logger.info("%d items at %s", "not a number", f"http://a:{PASSWORD}@h")
    assert PASSWORD not in buffer.getvalue()
    assert "http://h" in buffer.getvalue()


def test_installing_twice_adds_one_filter(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, _ = captured
    install_log_redaction(logger)
    install_log_redaction(logger)
    [handler] = [item for item in logger.handlers if type(item) is logging.StreamHandler]
    assert sum(isinstance(item, RedactingFilter) for item in handler.filters) == 1


def test_a_message_is_redacted_as_bytes_and_left_alone_when_clean() -> None:
    clean = b'{"ollama_url":"http://127.0.0.1:11434","model_name":"m?"}'
    assert redact_bytes(clean) is clean
    leaky = f'{{"ollama_url":"http://admin:{PASSWORD}@h:1"}}'.encode()
    assert redact_bytes(leaky) == b'{"ollama_url":"http://h:1"}'


def test_events_built_or_parsed_with_credentials_hold_the_redacted_url() -> None:
    url = f"http://admin:{PASSWORD}@h:11434"
    health = OllamaHealth(ollama_url=url, up=False, error_message=f"401 for url '{url}/api/ps'")
    assert (health.ollama_url, health.error_message) == (
        "http://h:11434",
        "401 for url 'http://h:11434/api/ps'",
    )
    sent = f'{{"kind":"request","model_name":"m","response_time_ms":1,"ollama_url":"{url}"}}'
    assert OllamaModelMetrics.model_validate_json(sent).ollama_url == "http://h:11434"
    for event in (
        OllamaModelsSnapshot(ollama_url=url),
        ModelLifecycleEvent(ollama_url=url, model_name="m", change=LifecycleChange.LOADED),
    ):
        assert PASSWORD not in event.model_dump_json()
