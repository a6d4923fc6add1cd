"""docs/outcomes.md's tables are the specification: every row is checked against the code."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from campaigner.domain import CallObservation, DialMode, LegState, Outcome
from campaigner.outcomes import verdict

DOC = Path(__file__).resolve().parents[2] / "docs" / "outcomes.md"


def table(marker: str) -> list[list[str]]:
    lines = DOC.read_text().splitlines()
    start = lines.index(f"<!-- outcome-table:{marker} -->") + 3  # skip header and rule
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    assert rows, f"empty table {marker}"
    return rows


def v1(
    status: str | None, legs: tuple[str | None, ...] = (), *, terminal: bool = True
) -> CallObservation:
    return CallObservation(
        sid="a" * 32,
        api="v1",
        source="callback",
        event="terminal",
        terminal=terminal,
        status=status,
        legs=tuple(LegState(s) for s in legs),
    )


def v3(status: str, legs: tuple[str | None, ...] = ()) -> CallObservation:
    return CallObservation(
        sid="b" * 32,
        api="v3",
        source="details",
        event="status",
        terminal=True,
        status=status,
        state="terminal",
        legs=tuple(LegState(s) for s in legs),
    )


LEG_STATUSES = ["completed", "busy", "no-answer", "failed", "canceled", None]


def expand(cell: str) -> list[str | None]:
    if cell == "*":
        return LEG_STATUSES
    return [None] if cell == "-" else [cell]


@pytest.mark.parametrize("row", table("v1-legs"), ids=" ".join)
def test_v1_leg_table(row: list[str]) -> None:
    mode, first, second, expected = row
    for leg1 in expand(second):
        for overall in ("completed", "no-answer", "failed"):  # overall status must not matter
            got = verdict(v1(overall, (first, leg1)), cast(DialMode, mode))
            assert got is not None
            assert got.outcome == Outcome(expected), (first, leg1, overall)


@pytest.mark.parametrize("row", table("v1-status"), ids=" ".join)
@pytest.mark.parametrize("mode", ["agent_first", "contact_first", "flow"])
def test_v1_status_table(row: list[str], mode: str) -> None:
    status, expected = row
    got = verdict(v1(status), cast(DialMode, mode))
    assert got is not None
    assert got.outcome == Outcome(expected)


@pytest.mark.parametrize("row", table("v3"), ids=" ".join)
def test_v3_table(row: list[str]) -> None:
    status, agent_first, contact_first = row
    assert verdict(v3(status), "agent_first").outcome == Outcome(agent_first)  # type: ignore[union-attr]
    for mode in ("contact_first", "flow"):
        got = verdict(v3(status), cast(DialMode, mode))
        assert got is not None
        assert got.outcome == Outcome(contact_first)


def test_every_v1_leg_combination_is_documented() -> None:
    documented = {(m, f, s) for m, f, s, _ in table("v1-legs")}
    for mode in ("agent_first", "contact_first"):
        for first in ("completed", "busy", "no-answer", "failed", "canceled"):
            covered = (mode, first, "*") in documented or all(
                (mode, first, "-" if s is None else s) in documented for s in LEG_STATUSES
            )
            assert covered, (mode, first)


def test_active_calls_have_no_verdict() -> None:
    assert verdict(v1("in-progress", terminal=False), "agent_first") is None


def test_unknown_final_status_is_unknown() -> None:
    got = verdict(v1("exploded"), "agent_first")
    assert got is not None
    assert got.outcome is Outcome.UNKNOWN
    assert got.reason == "unrecognised status exploded"
    assert verdict(v3("something_new"), "agent_first").outcome is Outcome.UNKNOWN  # type: ignore[union-attr]


def test_page_example_legs_beat_overall_status() -> None:
    # exotel-docs 003: Status no-answer, both legs completed, ConversationDuration 32.
    got = verdict(v1("no-answer", ("completed", "completed")), "agent_first")
    assert got is not None
    assert got.outcome is Outcome.CONNECTED


def test_v3_legs_refine_no_answer_to_failed() -> None:
    got = verdict(v3("to_leg_unanswered", ("completed", "failed")), "agent_first")
    assert got is not None
    assert got.outcome is Outcome.FAILED


def test_details_leg_status_is_used() -> None:
    obs = CallObservation(
        sid="c" * 32,
        api="v1",
        source="details",
        event="status",
        terminal=True,
        status="failed",
        detail_leg_status=("completed", "canceled"),
    )
    got = verdict(obs, "agent_first")
    assert got is not None
    assert got.outcome is Outcome.AGENT_UNANSWERED
    assert got.reason == "agent hung up while the contact rang"
