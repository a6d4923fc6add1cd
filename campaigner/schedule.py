"""Calling windows: when a call may start, in the campaign's timezone. Pure.

Every decision takes "now" as a parameter (an aware datetime); nothing here reads
a clock. The dialer asks :meth:`CallingSchedule.next_open` before every call and
retry; ``plan`` asks :meth:`open_seconds` to estimate a campaign's duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from campaigner.campaign.model import WEEKDAYS, Schedule

_SEARCH_DAYS = 400  # how far ahead next_open looks before giving up


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open span of wall time [start, end), both aware."""

    start: datetime
    end: datetime


class CallingSchedule:
    """The campaign's windows, skip dates, not_before and deadline as one calendar."""

    def __init__(self, schedule: Schedule) -> None:
        self.tz = ZoneInfo(schedule.timezone)
        self._windows = schedule.windows
        self._skip = {date.fromisoformat(d) for d in schedule.skip_dates}
        self.not_before = _aware(schedule.not_before, self.tz)
        self.deadline = _aware(schedule.deadline, self.tz)

    def intervals(self, start: datetime) -> Iterator[Interval]:
        """Open intervals ending after ``start``, in order, clipped to not_before/deadline."""
        local_day = start.astimezone(self.tz).date() - timedelta(days=1)
        for offset in range(_SEARCH_DAYS + 2):
            day = local_day + timedelta(days=offset)
            for span in self._day_intervals(day):
                lo = max(span.start, self.not_before) if self.not_before else span.start
                hi = min(span.end, self.deadline) if self.deadline else span.end
                if hi <= start or lo >= hi:
                    continue
                yield Interval(lo, hi)
            if self.deadline and datetime.combine(day, time(), self.tz) > self.deadline:
                return

    def _day_intervals(self, day: date) -> list[Interval]:
        if day in self._skip:
            return []
        weekday = WEEKDAYS[day.weekday()]
        spans = []
        for window in self._windows:
            if weekday not in window.days:
                continue
            begin = datetime.combine(day, time(), self.tz) + timedelta(minutes=window.start_minutes)
            end = datetime.combine(day, time(), self.tz) + timedelta(minutes=window.end_minutes)
            spans.append(Interval(begin, end))
        return _merge(sorted(spans, key=lambda s: s.start))

    def is_open(self, at: datetime) -> bool:
        """True when a call may start at ``at``."""
        span = self.current(at)
        return span is not None

    def current(self, at: datetime) -> Interval | None:
        """The open interval containing ``at``, or None."""
        for span in self.intervals(at):
            if span.start <= at < span.end:
                return span
            if span.start > at:
                return None
        return None

    def next_open(self, at: datetime) -> datetime | None:
        """The first instant >= ``at`` when a call may start; None if never (deadline)."""
        for span in self.intervals(at):
            return max(span.start, at)
        return None

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of open calling time between ``start`` and ``end``."""
        total = 0.0
        for span in self.intervals(start):
            if span.start >= end:
                break
            total += (min(span.end, end) - max(span.start, start)).total_seconds()
        return total

    def advance(self, start: datetime, open_seconds: float) -> datetime | None:
        """The instant when ``open_seconds`` of calling time after ``start`` have elapsed."""
        remaining = open_seconds
        for span in self.intervals(start):
            begin = max(span.start, start)
            length = (span.end - begin).total_seconds()
            if remaining <= length:
                return begin + timedelta(seconds=remaining)
            remaining -= length
        return None


def _aware(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _merge(spans: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for span in spans:
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
