"""Human durations (``30s``, ``10m``, ``2h``, ``1d``, ``1h30m``) as used in campaign files."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WHOLE = re.compile(r"^(?:\d+[smhd])+$")
_PART = re.compile(r"(\d+)([smhd])")
MAX_DURATION = timedelta(days=366)


def parse_duration(value: object) -> timedelta:
    """Parse ``"90s"``, ``"10m"``, ``"1h30m"``, ``"2d"`` or a whole number of seconds.

    Raises ValueError with a message that says what is accepted; pydantic turns it
    into a located validation error.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(_HINT)
    elif isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.isdigit():
            seconds = int(text)
        elif _WHOLE.match(text):
            seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
        else:
            raise ValueError(_HINT + f" (got {value!r})")
    else:
        raise ValueError(_HINT)
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    # Compare before building: timedelta() overflows (OverflowError) on huge numbers.
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError("a duration must be at most 366d")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest human form of a duration: ``timedelta(seconds=5400)`` -> ``"1h30m"``."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, total = divmod(total, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


_HINT = "expected a duration such as 30s, 10m, 2h, 1d or 1h30m, or a number of seconds"
