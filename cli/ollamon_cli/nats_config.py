"""nats-server's `authorization` block, rendered from core's permission table.

One user per entry of `ollamon_core.permissions.user_permissions()`, in nats-server's own
configuration syntax. A password is either the text itself (the embedded server's file,
kept 0600) or an environment variable the server reads at start (`$NAME`, unquoted: the
deploy configuration, `deploy/nats/auth.conf`). Every string is written as a JSON
string, which nats-server reads as a quoted string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ollamon_core.permissions import Permissions, user_permissions

HEADER = (
    "# Users and permissions of ollamon's NATS clients, generated from\n"
    "# libs/ollamon-core/ollamon_core/permissions.py (`ollamon nats-config`): do not edit.\n"
)


@dataclass(frozen=True)
class EnvVar:
    """A value nats-server reads from its environment when it starts."""

    name: str


Password = str | EnvVar


def password_variable(user: str) -> str:
    """The environment variable that holds `user`'s password in the deploy configuration."""
    return "OLLAMON_NATS_PASSWORD_" + user.upper().replace("-", "_")


def _quote(text: str) -> str:
    return json.dumps(text)


def _value(password: Password) -> str:
    return f"${password.name}" if isinstance(password, EnvVar) else _quote(password)


def _subject_list(key: str, items: tuple[str, ...], indent: str) -> list[str]:
    if not items:
        return [f'{indent}{key}: {{ deny: [">"] }}']
    return [
        f"{indent}{key}: {{",
        f"{indent}  allow: [",
        *(f"{indent}    {_quote(item)}" for item in items),
        f"{indent}  ]",
        f"{indent}}}",
    ]


def _permissions(permissions: Permissions, indent: str) -> list[str]:
    lines = [f"{indent}permissions: {{"]
    lines += _subject_list("publish", permissions.publish, indent + "  ")
    lines += _subject_list("subscribe", permissions.subscribe, indent + "  ")
    if permissions.allow_responses:
        lines.append(f"{indent}  allow_responses: true")
    lines.append(f"{indent}}}")
    return lines


def authorization(
    passwords: Mapping[str, Password],
    table: Mapping[str, Permissions | None] | None = None,
) -> str:
    """The `authorization { users = [...] }` block for every user of `table` (by default
    `user_permissions()`; a hub node's adds the edges' `leaf`), with their passwords.

    Raises:
        KeyError: when `passwords` lacks a user.
    """
    lines = ["authorization {", "  users = ["]
    for user, permissions in (user_permissions() if table is None else table).items():
        lines += [
            "    {",
            f"      user: {_quote(user)}",
            f"      password: {_value(passwords[user])}",
        ]
        if permissions is not None:
            lines += _permissions(permissions, "      ")
        lines.append("    }")
    lines += ["  ]", "}"]
    return HEADER + "\n".join(lines) + "\n"


def deploy_authorization(table: Mapping[str, Permissions | None] | None = None) -> str:
    """The block with every password read from the server's environment
    (`OLLAMON_NATS_PASSWORD_<USER>`): `deploy/nats/auth.conf` (the hub nodes' table with
    the edges' `leaf`: `deploy/nats/hub-auth.conf`)."""
    users = user_permissions() if table is None else table
    return authorization({user: EnvVar(password_variable(user)) for user in users}, users)
