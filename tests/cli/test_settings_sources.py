"""`ollamon settings`: the values in effect and where they came from, secrets hidden."""

from __future__ import annotations

from pathlib import Path

from tests.cli.commands import run_ollamon


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """variable -> (source, value) from the command's columns."""
    table = {}
    for line in stdout.splitlines():
        variable, rest = line.split(maxsplit=1)
        source, _, value = rest.partition("  ")
        table[variable] = (source.strip(), value.strip())
    return table


def test_each_value_says_whether_it_came_from_the_environment_an_env_file_or_the_default(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "ollamon.env"
    env_file.write_text("OLLAMON_PROXY_PORT=11999\nOLLAMON_GATEWAY_PORT=1\n")
    result = run_ollamon(
        "--env-file",
        str(env_file),
        "settings",
        cwd=tmp_path,
        env={
            "OLLAMON_GATEWAY_PORT": "18000",  # the environment wins over the file
            "OLLAMON_OLLAMA_URLS": "http://gpu-1:11434",  # the second name of the Ollama URL
        },
    )
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table["OLLAMON_GATEWAY_PORT"] == ("environment", "18000")
    assert table["OLLAMON_PROXY_PORT"] == ("env file", "11999")
    assert table["OLLAMON_ALERT_RESPONSE_TIME_MS"] == ("default", "30000.0")
    assert table["OLLAMON_OLLAMA_URL"] == (
        "environment (OLLAMON_OLLAMA_URLS)",
        "http://gpu-1:11434",
    )


def test_secrets_are_hidden_and_urls_lose_their_credentials(tmp_path: Path) -> None:
    result = run_ollamon(
        "settings",
        cwd=tmp_path,
        env={
            "OLLAMON_API_TOKEN": "token-that-must-not-show",
            "OLLAMON_NATS_PASSWORD": "password-that-must-not-show",
            "OLLAMON_NATS_URL": "nats://ops:url-secret@nats.example:4222",
            "OLLAMON_ALERT_WEBHOOK_URLS": "https://hooks.slack.com/services/T0/B0/path-secret",
        },
    )
    assert result.returncode == 0, result.stderr
    for secret in ("token-that", "password-that", "url-secret", "path-secret"):
        assert secret not in result.stdout
    table = rows(result.stdout)
    assert table["OLLAMON_API_TOKEN"] == ("environment", "(set, hidden)")
    assert table["OLLAMON_NATS_PASSWORD"] == ("environment", "(set, hidden)")
    assert table["OLLAMON_NATS_URL"][1] == "nats://nats.example:4222"
    assert table["OLLAMON_ALERT_WEBHOOK_URLS"][1] == "https://hooks.slack.com/…"


def test_an_invalid_value_is_shown_with_its_problem_and_the_command_exits_1(
    tmp_path: Path,
) -> None:
    result = run_ollamon("settings", cwd=tmp_path, env={"OLLAMON_GATEWAY_PORT": "99999"})
    assert result.returncode == 1
    source, value = rows(result.stdout)["OLLAMON_GATEWAY_PORT"]
    assert source.startswith("invalid: ")
    assert value == "99999"
    assert result.stderr == "ollamon: invalid settings: OLLAMON_GATEWAY_PORT\n"


def test_a_missing_env_file_is_one_line(tmp_path: Path) -> None:
    result = run_ollamon("--env-file", str(tmp_path / "absent.env"), "settings", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("ollamon: --env-file ")
    assert len(result.stderr.splitlines()) == 1
