"""Durations (the lead's parser) as campaign files spell them: examples and properties."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigner.campaign.durations import MAX_DURATION, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("90", 90),
     (" 2H ", 7200), ("1h 30m", 5400), (45, 45), (timedelta(minutes=1), 60)],
)  # fmt: skip
def test_examples(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fast", "expected a duration such as 30s, 10m, 2h, 1d or 1h30m, or a number of seconds "
                 "(got 'fast')"),
        ("1.5h", "expected a duration such as 30s, 10m, 2h, 1d or 1h30m, or a number of seconds "
                 "(got '1.5h')"),
        (True, "expected a duration such as 30s, 10m, 2h, 1d or 1h30m, or a number of seconds"),
        (-5, "a duration cannot be negative"),
        ("367d", "a duration must be at most 366d"),
    ],
)  # fmt: skip
def test_errors(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="^") as caught:
        parse_duration(value)
    assert str(caught.value) == message


seconds = st.integers(0, int(MAX_DURATION.total_seconds()))


@given(seconds)
def test_format_then_parse_is_the_identity(total: int) -> None:
    value = timedelta(seconds=total)
    assert parse_duration(format_duration(value)) == value


@given(seconds)
def test_formatted_durations_are_the_shortest_unit_form(total: int) -> None:
    text = format_duration(timedelta(seconds=total))
    units = [ch for ch in text if ch.isalpha()]
    assert units == sorted(set(units), key="dhms".index)


@given(st.text(max_size=30))
def test_arbitrary_text_raises_only_value_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except ValueError:
        return
    assert timedelta(0) <= result <= MAX_DURATION
