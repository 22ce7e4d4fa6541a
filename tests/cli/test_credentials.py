"""The embedded server's credentials: made once, private, reused; each service gets its own."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from ollamon_cli.credentials import (
    AUTH_FOLDER,
    CREDENTIALS_FILE,
    load_credentials,
    load_or_create_credentials,
)
from ollamon_cli.nats_config import password_variable
from ollamon_cli.stack import SERVICE_ORDER, StackNats, service_specs
from ollamon_core.permissions import ADMIN_USER, ALERTS_READER_USER, user_permissions


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_makes_a_password_per_user_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    credentials = load_or_create_credentials(tmp_path)
    assert set(credentials.passwords) == set(user_permissions())
    assert len(set(credentials.passwords.values())) == len(credentials.passwords)
    assert all(len(password) >= 40 for password in credentials.passwords.values())
    assert mode(tmp_path / AUTH_FOLDER) == 0o700
    assert mode(credentials.file) == 0o600
    assert mode(credentials.server_config) == 0o600


def test_a_later_start_reuses_the_passwords_and_tightens_loosened_modes(tmp_path: Path) -> None:
    first = load_or_create_credentials(tmp_path)
    first.file.chmod(0o644)
    (tmp_path / AUTH_FOLDER).chmod(0o755)
    again = load_or_create_credentials(tmp_path)
    assert again.passwords == first.passwords
    assert mode(again.file) == 0o600
    assert mode(tmp_path / AUTH_FOLDER) == 0o700


def test_a_user_added_by_a_newer_version_gets_a_password_and_the_others_keep_theirs(
    tmp_path: Path,
) -> None:
    first = load_or_create_credentials(tmp_path)
    older = {user: pw for user, pw in first.passwords.items() if user != ALERTS_READER_USER}
    first.file.write_text(json.dumps(older))
    again = load_or_create_credentials(tmp_path)
    assert {u: again.passwords[u] for u in older} == older
    assert again.passwords[ALERTS_READER_USER]
    assert ALERTS_READER_USER in json.loads(first.file.read_text())


def test_the_server_configuration_names_every_user_with_its_password(tmp_path: Path) -> None:
    credentials = load_or_create_credentials(tmp_path)
    config = credentials.server_config.read_text()
    for user, password in credentials.passwords.items():
        assert f'user: "{user}"\n      password: "{password}"' in config


def test_nothing_is_stored_where_no_stack_ran(tmp_path: Path) -> None:
    assert load_credentials(tmp_path) is None
    assert not (tmp_path / AUTH_FOLDER / CREDENTIALS_FILE).exists()


def test_credentials_never_show_their_passwords_in_their_repr(tmp_path: Path) -> None:
    credentials = load_or_create_credentials(tmp_path)
    shown = repr(credentials) + repr(credentials.login(ADMIN_USER))
    assert not any(password in shown for password in credentials.passwords.values())


def test_on_the_embedded_server_each_service_is_its_own_user(tmp_path: Path) -> None:
    credentials = load_or_create_credentials(tmp_path)
    specs = service_specs(StackNats("nats://127.0.0.1:1", credentials=credentials), {})
    for spec in specs:
        assert spec.env["OLLAMON_NATS_USER"] == spec.name
        assert spec.env["OLLAMON_NATS_PASSWORD"] == credentials.passwords[spec.name]
    assert [spec.name for spec in specs] == list(SERVICE_ORDER)


def test_on_an_external_server_each_service_gets_the_password_the_operator_set_for_it() -> None:
    environ = {password_variable("storage"): "storage-secret"}
    external = StackNats("nats://nats.example:4222")
    assert external.service_env("storage", environ) == {
        "OLLAMON_NATS_USER": "storage",
        "OLLAMON_NATS_PASSWORD": "storage-secret",
    }
    assert external.service_env("probe", environ) == {}
