"""Regenerate the docs' generated tables from the code: the settings table in README.md, the
subjects table in docs/ARCHITECTURE.md.

python scripts/readme_tables.py          # rewrite both files in place
python scripts/readme_tables.py --check  # exit 1 if either is out of date (CI, tests)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from ollamon_cli.settings_table import settings_table
from ollamon_core import subjects

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


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


# Each file with the generated tables it holds, by marker name.
TABLES: dict[Path, dict[str, Callable[[], str]]] = {
    README: {"settings": settings_table},
    ARCHITECTURE: {"subjects": subjects_table},
}


def render(text: str, tables: dict[str, Callable[[], str]], name_of_file: str) -> str:
    """`text` with every generated block in `tables` replaced by fresh output."""
    for name, make in tables.items():
        pattern = re.compile(
            rf"(<!-- {name}-table:start -->\n).*?(<!-- {name}-table:end -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"{name_of_file} lacks the {name}-table markers")
        fresh = make()

        def replace(match: re.Match[str], fresh: str = fresh) -> str:
            return f"{match.group(1)}{fresh}\n{match.group(2)}"

        text = pattern.sub(replace, text)
    return text


def main() -> int:
    stale: list[str] = []
    for path, tables in TABLES.items():
        name_of_file = str(path.relative_to(ROOT))
        current = path.read_text()
        fresh = render(current, tables, name_of_file)
        if fresh == current:
            continue
        if "--check" in sys.argv:
            stale.append(name_of_file)
        else:
            path.write_text(fresh)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/readme_tables.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
