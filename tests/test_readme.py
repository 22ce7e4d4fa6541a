"""The generated tables (settings in the README, subjects in docs/ARCHITECTURE.md) match the code,
and the README keeps its quick start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_settings_and_subjects_tables_match_the_code() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_tables.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_names_the_two_quick_start_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "python3 bootstrap.py up" in text
    assert "python3 bootstrap.py test" in text
