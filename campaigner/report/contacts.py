"""The per-contact table: one line per contact (and per skipped file row), with its calls.

The same records as ``campaigner export`` (:func:`campaigner.store.queries.
export_records`: contacts in file order, each with its placed calls, then the
skipped file rows), read with its own lean query: the export builds a dict of
every field per call, which for 100,000 contacts cost more than the whole rest of
the report. tests/report/test_contacts.py keeps the two in agreement. Numbers are
masked here, once, before any template sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

from campaigner.report.masking import safe_link
from campaigner.report.model import CallLine, ContactLine
from campaigner.report.source import Source, json_object

PENDING = {"ready": "pending", "active": "in_call"}

_CALLS = (
    "SELECT contact_id, attempt, sid, exotel_status, outcome, reason, started_at, ended_at, "
    "talk_time, recording_url, caller_id, agent, resolved_by, adopted FROM calls "
    "WHERE sid IS NOT NULL ORDER BY contact_id, id"
)
_CONTACTS = (
    "SELECT id, phone, source, variables, state, outcome, reason, attempts FROM contacts "
    "ORDER BY seq"
)


def contact_lines(source: Source) -> Iterator[ContactLine]:
    """Every contact in file order, then the file rows that were skipped."""
    line = _LineMaker(source)
    calls = source.stream(_CALLS)
    pending = next(calls, None)
    for row in source.stream(_CONTACTS):
        mine: list[CallLine] = []
        while pending is not None and pending[0] < row[0]:
            pending = next(calls, None)
        while pending is not None and pending[0] == row[0]:
            mine.append(line.call(pending))
            pending = next(calls, None)
        yield line.contact(row, tuple(mine))
    for raw_phone, reason, where in source.stream(
        "SELECT raw_phone, reason, source FROM skipped_rows ORDER BY id"
    ):
        yield ContactLine(
            line.phone(str(raw_phone)), None, (), "skipped", str(reason), 0, 0, None, where, ()
        )


class _LineMaker:
    """Turns rows into lines; maskers are cached (reasons, agents repeat thousands of times)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.phone: Callable[[str], str] = lru_cache(maxsize=4096)(source.phone)
        self.reason: Callable[[str], str] = lru_cache(maxsize=4096)(source.text)
        self.text = source.text
        self.tz = source.tz

    def contact(self, row: tuple[Any, ...], calls: tuple[CallLine, ...]) -> ContactLine:
        _, phone, where, variables_json, state, outcome, reason, attempts = row
        variables = json_object(variables_json)
        name = variables.get("name")
        text = self.text
        talk_time, recording = 0, None
        for call in calls:
            talk_time += call.talk_time or 0
            recording = call.recording_url or recording
        return ContactLine(
            self.phone(phone),
            text(str(name)) if name not in (None, "") else None,
            tuple(
                [(str(k), text(v if isinstance(v, str) else str(v))) for k, v in variables.items()]
            ),
            outcome if state == "done" and outcome else PENDING.get(state, str(state)),
            self.reason(reason) if reason else None,
            attempts,
            talk_time,
            recording,
            where,
            calls,
        )

    def call(self, row: tuple[Any, ...]) -> CallLine:
        _, attempt, sid, status, outcome, reason, started, ended, talk, url, cid, agent, by, ad = (
            row
        )
        return CallLine(
            attempt,
            sid,
            status,
            outcome,
            self.reason(reason) if reason else None,
            self._when(started),
            self._when(ended),
            talk,
            safe_link(url),
            self.phone(cid),
            self.phone(agent) if agent else None,
            by,
            bool(ad),
        )

    def _when(self, epoch: float | None) -> datetime | None:
        return None if epoch is None else datetime.fromtimestamp(epoch, self.tz)
