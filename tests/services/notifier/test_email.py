"""Email through a real SMTP server (aiosmtpd) that demands STARTTLS before AUTH."""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ollamon_core.events import DeliveryOutcome
from ollamon_notifier.service import running_notifier
from tests.services.notifier.conftest import AlertPublisher, Deliveries
from tests.services.notifier.factories import firing, notifier_settings, resolved, routes_file
from tests.services.notifier.receiver import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]
USER, PASSWORD = "ollamon", "smtp-secret"


@dataclass
class Mailbox:
    """What the SMTP server accepted, and whether each came over TLS."""

    messages: list[tuple[str, list[str], Any, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message, session.ssl is not None)
        )
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    good = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=good, handled=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl missing (deploy/nats/make-certs.sh makes the SMTP certificate)")
    folder = tmp_path_factory.mktemp("smtp-certs")
    subprocess.run(
        ["sh", str(ROOT / "deploy/nats/make-certs.sh"), str(folder), "127.0.0.1", "localhost"],
        check=True,
    )
    return folder


@pytest.fixture
def smtp_server(certs: Path) -> Iterator[tuple[Mailbox, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "server-cert.pem", certs / "server-key.pem")
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def email_routes(port: int, ca: Path, password: str = PASSWORD) -> str:
    return f"""
receivers:
  - name: mail
    kind: email
    smtp_host: 127.0.0.1
    smtp_port: {port}
    username: {USER}
    password: {password}
    ca_file: {ca}
    sender: ollamon@example.com
    to: [ops@example.com, oncall@example.com]
routes:
  - receivers: [mail]
"""


async def test_an_alert_is_mailed_over_starttls_firing_then_resolved(
    clean_nats_url: str,
    publish: AlertPublisher,
    deliveries: Deliveries,
    smtp_server: tuple[Mailbox, int],
    certs: Path,
    tmp_path: Path,
) -> None:
    mailbox, port = smtp_server
    routes = await routes_file(tmp_path, email_routes(port, certs / "ca.pem"))
    async with running_notifier(notifier_settings(clean_nats_url, routes_file=routes)):
        alert = firing()
        await publish(alert)
        await wait_for(lambda: len(mailbox.messages) == 1, 15, "the firing mail")
        await publish(resolved(alert))
        await wait_for(lambda: len(mailbox.messages) == 2, 15, "the resolved mail")

    (sender, recipients, first, over_tls), (_, _, second, _) = mailbox.messages
    assert sender == "ollamon@example.com"
    assert recipients == ["ops@example.com", "oncall@example.com"]
    assert over_tls
    assert first["Subject"] == "ollamon: [FIRING] high slow_response on gpu-box / llama3.2:1b"
    assert "Response time 45000 ms over the 30000 ms threshold" in first.get_content()
    assert "what to change: Lower num_ctx" in first.get_content()
    assert second["Subject"].startswith("ollamon: [RESOLVED]")
    assert [(e.outcome, e.status_code) for e in deliveries.events] == [
        (DeliveryOutcome.DELIVERED, 250),
        (DeliveryOutcome.DELIVERED, 250),
    ]


async def test_a_wrong_smtp_password_is_refused_for_good_and_never_shown(
    clean_nats_url: str,
    publish: AlertPublisher,
    deliveries: Deliveries,
    smtp_server: tuple[Mailbox, int],
    certs: Path,
    tmp_path: Path,
) -> None:
    mailbox, port = smtp_server
    routes = await routes_file(tmp_path, email_routes(port, certs / "ca.pem", "wrong-secret"))
    async with running_notifier(notifier_settings(clean_nats_url, routes_file=routes)):
        await publish(firing())
        await wait_for(lambda: deliveries.events, 15, "the delivery outcome")
    (event,) = deliveries.events
    assert event.outcome is DeliveryOutcome.FAILED
    assert event.status_code == 535
    assert "wrong-secret" not in event.model_dump_json()
    assert mailbox.messages == []
