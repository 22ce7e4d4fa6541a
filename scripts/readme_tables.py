"""Regenerate the README's generated tables (settings, subjects) from the code.

python scripts/readme_tables.py          # rewrite README.md in place
python scripts/readme_tables.py --check  # exit 1 if README.md is out of date (CI, tests)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ollamon_cli.settings_table import settings_table
from ollamon_core import subjects

README = Path(__file__).resolve().parents[1] / "README.md"

PERSISTED_NOTE = "JetStream stream `OLLAMON` (storage keeps it)"


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""


def subjects_table() -> str:
    """Every subject with its model and whether the stream keeps it."""
    lines = ["| subject | payload | kept | what |", "|---|---|---|---|"]
    for pattern, model in subjects.SUBJECT_MODELS.items():
        kept = any(
            subjects.subject_matches(stream_pattern, pattern.replace(">", "x"))
            for stream_pattern in subjects.STREAM_EVENTS_SUBJECTS
        )
        lines.append(
            f"| `{pattern}` | `{model.__name__}` | {'stream' if kept else 'live only'} "
            f"| {_first_line(model.__doc__)} |"
        )
    for subject, route in subjects.QUERY_ROUTES.items():
        lines.append(
            f"| `{subject}` | `{route.request.__name__}` → `{route.reply.__name__}` "
            f"| request/reply | {_first_line(route.request.__doc__)} |"
        )
    lines.append(
        f"| `{subjects.DEADLETTER_ALL}` | the original bytes, reason in headers "
        f"| stream `{subjects.STREAM_DEADLETTER}` | messages a service could not use |"
    )
    return "\n".join(lines)


TABLES = {"settings": settings_table, "subjects": subjects_table}


def render(text: str) -> str:
    """README text with every generated block replaced by fresh output."""
    for name, make in TABLES.items():
        pattern = re.compile(
            rf"(<!-- {name}-table:start -->\n).*?(<!-- {name}-table:end -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"README.md lacks the {name}-table markers")
        fresh = make()

        def replace(match: re.Match[str], fresh: str = fresh) -> str:
            return f"{match.group(1)}{fresh}\n{match.group(2)}"

        text = pattern.sub(replace, text)
    return text


def main() -> int:
    current = README.read_text()
    fresh = render(current)
    if "--check" in sys.argv:
        if fresh != current:
            print("README.md tables are out of date: run python scripts/readme_tables.py")
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
