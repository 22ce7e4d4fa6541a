"""Render docker-compose.yml as `docker compose config` would, without Docker.

The YAML is read with PyYAML (merge keys `<<` included, as compose does), then every string
value is interpolated from an environment by compose's rules (the Compose Specification,
"Interpolation"): `$VAR` and `${VAR}`; `${VAR:-default}` (unset or empty -> default),
`${VAR-default}` (unset -> default); `${VAR:?message}` / `${VAR?message}` (an error);
`${VAR:+other}` / `${VAR+other}`; `$$` is a literal `$`. Defaults may themselves hold
`${...}`. An unset variable with no default is the empty string, as compose does (with a
warning). Keys are not interpolated. `environment` given as a list is turned into a mapping,
and every environment value into a string, as compose hands them to the container.

No maintained Python library implements compose's interpolation (docker-compose v1, which
did, is end-of-life), so this is the part of it the tests need, by the specification.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
OPERATORS = (":-", "-", ":?", "?", ":+", "+")


class InterpolationError(ValueError):
    """A required variable is missing (`${VAR:?message}`), or a `${` is unclosed."""


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing the `${` whose body starts at `start` (nesting counted)."""
    depth = 1
    index = start
    while index < len(text):
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise InterpolationError(f"unclosed ${{ in {text!r}")


def _braced(body: str, env: Mapping[str, str]) -> str:
    match = re.match(NAME, body)
    if match is None:
        raise InterpolationError(f"invalid variable in ${{{body}}}")
    name, rest = match.group(0), body[match.end() :]
    if not rest:
        return env.get(name, "")
    operator = next((op for op in OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise InterpolationError(f"invalid substitution ${{{body}}}")
    argument = rest[len(operator) :]
    value = env.get(name)
    set_and_not_empty = bool(value)
    is_set = value is not None
    if operator in (":-", "-"):
        use_default = not set_and_not_empty if operator == ":-" else not is_set
        return interpolate(argument, env) if use_default else str(value)
    if operator in (":?", "?"):
        missing = not set_and_not_empty if operator == ":?" else not is_set
        if missing:
            raise InterpolationError(f"{name}: {interpolate(argument, env)}")
        return str(value)
    present = set_and_not_empty if operator == ":+" else is_set
    return interpolate(argument, env) if present else ""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """`text` with every `$` expression replaced from `env`, by compose's rules."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            end = _closing_brace(text, index + 2)
            out.append(_braced(text[index + 2 : end], env))
            index = end + 1
        elif match := re.match(NAME, text[index + 1 :]):
            out.append(env.get(match.group(0), ""))
            index += 1 + match.end()
        else:
            out.append("$")
            index += 1
    return "".join(out)


def _interpolated(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, env)
    if isinstance(value, list):
        return [_interpolated(item, env) for item in value]
    if isinstance(value, dict):
        return {key: _interpolated(item, env) for key, item in value.items()}
    return value


def _environment(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        pairs = (str(item).partition("=") for item in value)
        return {name: text for name, _, text in pairs}
    return {str(name): "" if text is None else str(text) for name, text in value.items()}


def render(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The compose file at `path` as compose would run it with `env` (the shell and `.env`)."""
    model = _interpolated(yaml.safe_load(path.read_text()), env)
    for service in model.get("services", {}).values():
        if "environment" in service:
            service["environment"] = _environment(service["environment"])
    return dict(model)


def selected_services(model: Mapping[str, Any], profiles: set[str], named: list[str]) -> set[str]:
    """The services `docker compose --profile ... up [named ...]` starts.

    Without names: every service with no profile or an active one. With names: those
    services (a named service's profiles become active) and what they depend on.
    """
    services: Mapping[str, Any] = model["services"]

    def active(name: str) -> bool:
        wanted = services[name].get("profiles")
        return not wanted or bool(set(wanted) & profiles)

    if not named:
        return {name for name in services if active(name)}
    for name in named:
        profiles = profiles | set(services[name].get("profiles", []))
    chosen: set[str] = set()
    pending = list(named)
    while pending:
        name = pending.pop()
        if name in chosen:
            continue
        if not active(name):
            raise ValueError(f"{name} depends on a service of an inactive profile")
        chosen.add(name)
        depends = services[name].get("depends_on", [])
        pending += list(depends)
    return chosen
