"""Template filters: the exact text a report shows for numbers, shares, durations and times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from campaigner.report.format import clock, duration, label, num, pct, shortpath, when

IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (1234567, "1,234,567"), (2.0, "2"), (1.666, "1.7"), (None, "\u2013")],
)
def test_num(value: float | None, text: str) -> None:
    assert num(value) == text


@pytest.mark.parametrize(
    ("share", "text"),
    [(0, "0%"), (1, "100%"), (0.25, "25%"), (0.7667, "76.7%"), (0.0004, "<0.1%"), (None, "\u2013")],
)
def test_pct(share: float | None, text: str) -> None:
    assert pct(share) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (59.6, "1m 00s"), (185, "3m 05s"), (7800, "2h 10m"), (None, "\u2013")],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_times() -> None:
    at = datetime(2026, 11, 23, 9, 5, 7, tzinfo=IST)
    assert when(at) == "Mon 23 Nov 2026, 09:05"
    assert when("2026-11-23T09:05:07+05:30", "%d %b %H:%M") == "23 Nov 09:05"
    assert when("not a time") == "not a time"
    assert clock(at) == "09:05:07"
    assert when(None) == "\u2013"


def test_label_and_shortpath() -> None:
    assert label("agent_unanswered") == "agent unanswered"
    assert (
        shortpath("/srv/campaigns/ops/november/collections.yaml")
        == "\u2026/november/collections.yaml"
    )
    assert shortpath("campaigns/demo.yaml") == "campaigns/demo.yaml"
