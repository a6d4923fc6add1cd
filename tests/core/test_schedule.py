from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from campaigner.campaign.model import Schedule, Window
from campaigner.schedule import CallingSchedule

IST = ZoneInfo("Asia/Kolkata")


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


def weekdays_0930_2030() -> CallingSchedule:
    days = ["mon", "tue", "wed", "thu", "fri", "sat"]
    return CallingSchedule(Schedule(windows=[Window(days=days, start="09:30", end="20:30")]))


def test_open_inside_window_and_closed_at_end() -> None:
    cal = weekdays_0930_2030()
    # 2026-11-23 is a Monday.
    assert cal.is_open(ist(2026, 11, 23, 9, 30))
    assert cal.is_open(ist(2026, 11, 23, 20, 29, 59))
    assert not cal.is_open(ist(2026, 11, 23, 20, 30))
    assert not cal.is_open(ist(2026, 11, 23, 9, 29))


def test_next_open_skips_sunday() -> None:
    cal = weekdays_0930_2030()
    saturday_night = ist(2026, 11, 28, 21, 0)
    assert cal.next_open(saturday_night) == ist(2026, 11, 30, 9, 30)


def test_next_open_is_now_when_open() -> None:
    cal = weekdays_0930_2030()
    now = ist(2026, 11, 23, 12, 0)
    assert cal.next_open(now) == now


def test_deadline_and_not_before_clip_windows() -> None:
    cal = CallingSchedule(
        Schedule(
            windows=[Window(start="09:00", end="21:00")],
            not_before=datetime(2026, 11, 24, 10, 0),
            deadline=datetime(2026, 11, 24, 12, 0, tzinfo=IST),
        )
    )
    assert cal.next_open(ist(2026, 11, 23, 8, 0)) == ist(2026, 11, 24, 10, 0)
    assert cal.next_open(ist(2026, 11, 24, 12, 0)) is None
    assert cal.open_seconds(ist(2026, 11, 23), ist(2026, 11, 30)) == 2 * 3600


def test_skip_dates_and_utc_input() -> None:
    cal = CallingSchedule(
        Schedule(windows=[Window(start="09:00", end="21:00")], skip_dates=["2026-11-24"])
    )
    # 2026-11-23 21:00 IST == 15:30 UTC
    utc_evening = datetime(2026, 11, 23, 15, 30, tzinfo=ZoneInfo("UTC"))
    assert cal.next_open(utc_evening) == ist(2026, 11, 25, 9, 0)


def test_overlapping_windows_merge() -> None:
    cal = CallingSchedule(
        Schedule(windows=[Window(start="09:00", end="13:00"), Window(start="12:00", end="18:00")])
    )
    span = cal.current(ist(2026, 11, 23, 12, 30))
    assert span is not None
    assert (span.start, span.end) == (ist(2026, 11, 23, 9, 0), ist(2026, 11, 23, 18, 0))


def test_advance_carries_over_night() -> None:
    cal = CallingSchedule(Schedule(windows=[Window(start="09:00", end="10:00")]))
    start = ist(2026, 11, 23, 9, 30)
    assert cal.advance(start, 3600) == ist(2026, 11, 24, 9, 30)


@given(
    minutes=st.integers(min_value=0, max_value=7 * 24 * 60),
    start=st.integers(min_value=0, max_value=23 * 60),
    length=st.integers(min_value=1, max_value=600),
)
def test_next_open_is_open_and_not_before_now(minutes: int, start: int, length: int) -> None:
    end = min(start + length, 24 * 60)
    window = Window(
        start=f"{start // 60:02d}:{start % 60:02d}",
        end="24:00" if end == 24 * 60 else f"{end // 60:02d}:{end % 60:02d}",
    )
    cal = CallingSchedule(Schedule(windows=[window]))
    now = ist(2026, 11, 23) + timedelta(minutes=minutes)
    nxt = cal.next_open(now)
    assert nxt is not None
    assert nxt >= now
    assert cal.is_open(nxt)
    if nxt > now:
        assert not cal.is_open(now)
