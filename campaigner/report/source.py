"""What every section builder reads from: the journal's connection plus how to show things.

Section builders (``campaigner.report.sections`` and friends) are pure functions
of a :class:`Source`: they run read-only SQL, aggregate in SQL where the tables are
big (calls, requests, events), and return frozen model objects.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigner.domain import LIVE_STATES, Outcome
from campaigner.report.masking import maskers
from campaigner.report.model import Count
from campaigner.store.journal import Journal
from campaigner.store.run_settings import RunSettings

# The order outcomes are listed and stacked in (the vocabulary's, then a live run's states);
# keys not listed follow, sorted.
OUTCOME_ORDER: tuple[str, ...] = (*(o.value for o in Outcome), *LIVE_STATES)


@dataclass(frozen=True)
class Source:
    """The journal plus the campaign's settings, timezone and maskers."""

    journal: Journal
    settings: RunSettings
    timezone: str
    tz: ZoneInfo
    mode: str
    mask: bool
    phone: Callable[[str], str]
    text: Callable[[str], str]

    @classmethod
    def of(cls, journal: Journal, mask: bool) -> Source:
        settings = RunSettings.read(journal)
        name = settings.timezone
        try:
            tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            name, tz = "UTC", ZoneInfo("UTC")
        phone, text = maskers(mask)
        mode = journal.get_meta("mode") or "agent_first"
        return cls(journal, settings, name, tz, mode, mask, phone, text)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.journal.conn

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, tuple(params)).fetchall()

    def stream(self, sql: str, params: Iterable[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows as plain tuples, not ``sqlite3.Row``, one at a time: for big results."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return iter(cursor.execute(sql, tuple(params)))

    def tuples(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.stream(sql, params))

    def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = self.conn.execute(sql, tuple(params)).fetchone()
        return None if row is None else row[0]

    def when(self, epoch: float) -> datetime:
        """An epoch instant in the campaign's timezone."""
        return datetime.fromtimestamp(epoch, UTC).astimezone(self.tz)


def json_object(text: str | None) -> dict[str, Any]:
    """A JSON object from the journal ({} for anything else: the report never fails on it)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def outcome_sort_key(key: str) -> tuple[int, str]:
    """Known outcomes in :data:`OUTCOME_ORDER`, anything else after them by name."""
    try:
        return (OUTCOME_ORDER.index(key), key)
    except ValueError:
        return (len(OUTCOME_ORDER), key)


def counts(
    pairs: Mapping[str, int], *, total: int | None = None, by_outcome: bool = False
) -> tuple[Count, ...]:
    """Counts with shares of ``total`` (default: their sum), largest first or by outcome."""
    whole = sum(pairs.values()) if total is None else total
    if by_outcome:
        keys = sorted(pairs, key=outcome_sort_key)
    else:
        keys = sorted(pairs, key=lambda k: (-pairs[k], k))
    return tuple(Count(k, pairs[k], pairs[k] / whole if whole else 0.0) for k in keys)


def grouped(source: Source, sql: str, params: Iterable[Any] = ()) -> dict[str, int]:
    """A ``SELECT key, count`` query as a dict (NULL keys become ``"none"``)."""
    result: dict[str, int] = {}
    for key, count in source.rows(sql, params):
        name = "none" if key is None else str(key)
        result[name] = result.get(name, 0) + int(count)
    return result
