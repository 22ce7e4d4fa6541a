"""Bounds on what commands and queries may carry, defined once.

The bus models (control events, query requests) are built from these types, and the
gateway's REST models reuse the same ones, so a command from a plain NATS client is held
to exactly what REST accepts. Numbers must be JSON numbers: a boolean or a string of digits
is refused even where pydantic's lax mode (which Litestar asks for) would convert it, and
the validators below run whatever strictness the caller asks for.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

# Monitoring control: the seconds between samples and polls.
MIN_INTERVAL_SECONDS = 0.5
MAX_INTERVAL_SECONDS = 3600.0

# Alert thresholds: percent rules stay within 0-100, millisecond rules within a day.
MAX_PERCENT = 100.0
MAX_THRESHOLD_MS = 86_400_000.0
MAX_THRESHOLD = max(MAX_PERCENT, MAX_THRESHOLD_MS)  # the largest any rule accepts

# Silences: how long one may hold alerts back, and the clock difference tolerated between
# the host that sends it and alerting.
MAX_SILENCE_DAYS = 30
MAX_SILENCE = timedelta(days=MAX_SILENCE_DAYS)
CLOCK_SKEW = timedelta(minutes=5)

# History queries look back at most this many hours.
MAX_HOURS = 24 * 366

# Text fields of commands and queries.
MAX_HOST_CHARS = 255
MAX_MODEL_NAME_CHARS = 512
MAX_RULE_CHARS = 64
MAX_SILENCE_ID_CHARS = 128
MAX_COMMENT_CHARS = 1000
MAX_AUTHOR_CHARS = 128
MAX_FINGERPRINT_CHARS = 64

# Export and backup file names (relative to their folder): each part short enough that the
# CSV siblings (`<stem>.model_snapshots.csv`) and temporary names still fit the file system.
MAX_FILE_PATH_CHARS = 255
MAX_FILE_NAME_CHARS = 100
FILE_PATH_CHARACTERS = "letters, digits, '.', '_', '-', spaces and '/'"
_FILE_PATH = re.compile(r"[A-Za-z0-9._\- /]*")


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number (not a boolean or a string)")
    return value


def _json_integer(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole JSON number (not a boolean, a string or a fraction)")
    return value


def _file_path(value: str) -> str:
    if not _FILE_PATH.fullmatch(value):
        raise ValueError(f"a file path may hold only {FILE_PATH_CHARACTERS}")
    if any(len(part) > MAX_FILE_NAME_CHARS for part in value.split("/")):
        raise ValueError(f"each part of a file path is at most {MAX_FILE_NAME_CHARS} characters")
    return value


# A finite JSON number: no booleans, no strings, no NaN or infinity.
JsonNumber = Annotated[float, BeforeValidator(_json_number), Field(allow_inf_nan=False)]
# A whole JSON number: no booleans, no strings, no fractions.
JsonInteger = Annotated[int, BeforeValidator(_json_integer)]

IntervalSeconds = Annotated[
    JsonNumber,
    Field(
        ge=MIN_INTERVAL_SECONDS,
        le=MAX_INTERVAL_SECONDS,
        description=f"Seconds, {MIN_INTERVAL_SECONDS:g} to {MAX_INTERVAL_SECONDS:g}",
    ),
]
ThresholdValue = Annotated[JsonNumber, Field(ge=0, le=MAX_THRESHOLD)]
Hours = Annotated[JsonNumber, Field(gt=0, le=MAX_HOURS)]

HostLabel = Annotated[str, Field(min_length=1, max_length=MAX_HOST_CHARS)]
ModelName = Annotated[str, Field(min_length=1, max_length=MAX_MODEL_NAME_CHARS)]
RuleKey = Annotated[str, Field(min_length=1, max_length=MAX_RULE_CHARS)]
SilenceId = Annotated[str, Field(min_length=1, max_length=MAX_SILENCE_ID_CHARS)]
Comment = Annotated[str, Field(max_length=MAX_COMMENT_CHARS)]
Author = Annotated[str, Field(max_length=MAX_AUTHOR_CHARS)]
Fingerprint = Annotated[str, Field(min_length=1, max_length=MAX_FINGERPRINT_CHARS)]
FilePath = Annotated[
    str,
    Field(
        max_length=MAX_FILE_PATH_CHARS, description=f"Relative file path: {FILE_PATH_CHARACTERS}"
    ),
    AfterValidator(_file_path),
]
