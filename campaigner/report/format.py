"""Jinja filters for report templates: numbers, shares, durations and times.

Registered in every report environment (built-in and sandboxed); docs/reports.md
lists them for custom templates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from campaigner.domain import LIVE_STATES, OUTCOMES, Shown

# Every key the vocabulary defines (outcomes, a live run's states), as reports show it.
SHOWN: dict[str, Shown] = {**{o.value: t.shown for o, t in OUTCOMES.items()}, **LIVE_STATES}


def num(value: float | int | None) -> str:
    """``12345`` -> ``12,345``; None -> an en dash."""
    if value is None:
        return "\u2013"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def pct(share: float | None) -> str:
    """A 0..1 share as a percentage: ``0.7667`` -> ``76.7%`` (tiny non-zero: ``<0.1%``)."""
    if share is None:
        return "\u2013"
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share * 100:.1f}%".replace(".0%", "%")


def duration(seconds: float | int | None) -> str:
    """Seconds as ``45s``, ``3m 05s`` or ``2h 10m``."""
    if seconds is None:
        return "\u2013"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def when(value: datetime | str | None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A datetime (or ISO 8601 text) formatted in its own timezone."""
    if value is None:
        return "\u2013"
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime(fmt)
        except ValueError:
            return value
    return value.strftime(fmt)


def clock(value: datetime | str | None) -> str:
    """Time of day with seconds: ``09:02:13``."""
    return when(value, "%H:%M:%S")


def label(key: str) -> str:
    """An outcome or kind key for people: the vocabulary's label for an outcome or a live
    state (``no_answer`` -> ``no answer``), else the key with spaces: ``give_up`` -> ``give up``.
    """
    known = SHOWN.get(key)
    return known.label if known is not None else key.replace("_", " ")


def shortpath(path: str, keep: int = 2) -> str:
    """A long path as its last ``keep`` parts: ``/srv/a/b/c/x.yaml`` -> ``…/c/x.yaml``."""
    parts = path.split("/")
    if len(path) <= 40 or len(parts) <= keep + 1:
        return path
    return "\u2026/" + "/".join(parts[-keep:])


FILTERS: dict[str, Callable[..., Any]] = {
    "num": num,
    "pct": pct,
    "duration": duration,
    "when": when,
    "clock": clock,
    "label": label,
    "shortpath": shortpath,
}
