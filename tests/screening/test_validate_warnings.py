"""The warnings ``campaigner validate`` gives about screening, calling rules and safety stops."""

from __future__ import annotations

from campaigner.campaign.loader import check_campaign
from tests.campaign.conftest import BASE, FixedClock, write


def warnings(extra: str) -> list[str]:
    write("c.yaml", BASE + extra)
    _, problems = check_campaign("c.yaml", FixedClock())
    return [str(p) for p in problems]


def test_the_base_campaign_has_none() -> None:
    assert warnings("") == []


def test_calling_dnd_numbers_is_pointed_out() -> None:
    assert warnings("screening: {dnd: call}\n") == [
        "c.yaml:13:18: warning: screening.dnd: numbers on India's DND registry are called (no "
        "lookup); only transactional or consented calls may be"
    ]


def test_retries_longer_than_the_window_land_outside_it() -> None:
    text = (
        'schedule:\n  windows: [{start: "10:00", end: "12:00"}]\n'
        "  deadline: 2026-11-30T20:00:00+05:30\n"
        "retry: {max_attempts: 3, backoff: {first: 1h, factor: 2}}\n"
    )
    write("c.yaml", BASE.replace("schedule:\n  deadline: 2026-11-30T20:00:00+05:30\n", "") + text)
    _, problems = check_campaign("c.yaml", FixedClock())
    assert [str(p) for p in problems] == [
        "c.yaml:14:26: warning: retry.backoff: delays up to 2h are not shorter than the 2h "
        "calling window: retries land outside it and wait for a later window (often the next day)"
    ]


def test_a_cap_tighter_than_the_retries_and_a_long_gap() -> None:
    text = (
        "retry: {max_attempts: 3, backoff: {first: 10m}}\n"
        "screening: {frequency_cap: {calls: 2, per: 1d}, min_gap: 30m}\n"
    )
    assert warnings(text) == [
        "c.yaml:14:13: warning: screening.frequency_cap: allows 2 calls per 1d but "
        "retry.max_attempts is 3: later attempts wait until the cap allows them",
        "c.yaml:14:58: warning: screening.min_gap: 30m is longer than the first retry delay "
        "(10m): retries wait for the gap",
    ]


def test_no_circuit_breaker() -> None:
    assert warnings("health: {circuit_breaker: null}\n") == [
        "c.yaml:13:27: warning: health.circuit_breaker: circuit_breaker is off: if most calls "
        "fail (a wrong caller ID, an outage) the run spends every contact's attempts instead of "
        "pausing"
    ]
