"""The pure screening rules: DND policy and the frequency cap / minimum gap."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigner.campaign.model import FrequencyCap, Screening
from campaigner.screening.dnd import may_call, needs_lookup
from campaigner.screening.frequency import CallingRules, allowed_at, earliest_allowed

HOUR = 3600.0


@pytest.mark.parametrize(
    ("policy", "call_type", "dnd", "expected"),
    [
        ("skip", None, True, False),
        ("skip", "trans", True, False),
        ("skip", None, False, True),
        ("skip", None, None, True),  # Unavailable is called; Exotel's 403 is the safety net
        ("only_transactional", None, True, False),
        ("only_transactional", "trans", True, True),
        ("only_transactional", None, False, True),
        ("call", None, True, True),
    ],
)
def test_dnd_policy(policy: str, call_type: str | None, dnd: bool | None, expected: bool) -> None:
    assert may_call(policy, call_type, dnd) is expected  # type: ignore[arg-type]


def test_only_indian_numbers_are_looked_up_and_never_under_call() -> None:
    assert needs_lookup("skip", "+919812300001")
    assert needs_lookup("only_transactional", "+918041234567")
    assert not needs_lookup("skip", "+14155552671")
    assert not needs_lookup("call", "+919812300001")


def test_rules_from_the_campaign_model() -> None:
    screening = Screening(
        frequency_cap=FrequencyCap(calls=2, per=timedelta(days=1)), min_gap=timedelta(hours=4)
    )
    rules = CallingRules.of(screening)
    assert rules == CallingRules(cap_calls=2, cap_per=86400.0, min_gap=4 * HOUR)
    assert rules.active
    assert rules.horizon == 86400.0
    assert rules.history_needed == 2
    assert not CallingRules.of(Screening()).active


def test_no_history_allows_now() -> None:
    rules = CallingRules(cap_calls=1, cap_per=HOUR, min_gap=HOUR)
    assert earliest_allowed([], 1000.0, rules) == 1000.0


def test_cap_waits_for_the_oldest_counted_call_to_leave_the_window() -> None:
    rules = CallingRules(cap_calls=2, cap_per=24 * HOUR)
    now = 100 * HOUR
    # two calls today (at -10 h and -2 h): the next is allowed 24 h after the older one
    assert earliest_allowed([now - 2 * HOUR, now - 10 * HOUR], now, rules) == now + 14 * HOUR
    # one call only: allowed now
    assert earliest_allowed([now - 2 * HOUR], now, rules) == now


def test_gap_waits_after_the_latest_call() -> None:
    rules = CallingRules(min_gap=4 * HOUR)
    now = 100 * HOUR
    assert earliest_allowed([now - 30 * HOUR, now - HOUR], now, rules) == now + 3 * HOUR
    assert earliest_allowed([now - 5 * HOUR], now, rules) == now


def test_the_stricter_rule_wins() -> None:
    rules = CallingRules(cap_calls=1, cap_per=2 * HOUR, min_gap=3 * HOUR)
    now = 100 * HOUR
    assert earliest_allowed([now - HOUR], now, rules) == now + 2 * HOUR


@given(
    history=st.lists(st.floats(min_value=0, max_value=1e6), max_size=12),
    extra=st.floats(min_value=0, max_value=1e6),
    calls=st.none() | st.integers(min_value=1, max_value=5),
    per=st.floats(min_value=1, max_value=1e6),
    gap=st.none() | st.floats(min_value=1, max_value=1e6),
)
def test_earliest_allowed_is_allowed_and_nothing_earlier_is(
    history: list[float], extra: float, calls: int | None, per: float, gap: float | None
) -> None:
    now = max(history, default=0.0) + extra
    rules = CallingRules(cap_calls=calls, cap_per=per if calls else None, min_gap=gap)
    at = earliest_allowed(history, now, rules)
    assert at >= now
    assert allowed_at(history, at, rules)
    if at > now:
        assert not allowed_at(history, math.nextafter(at, -math.inf), rules)
