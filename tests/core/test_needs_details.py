"""When a terminal v1 observation cannot decide its outcome without the call's own details."""

from __future__ import annotations

import pytest

from campaigner.domain import CallObservation, LegState
from campaigner.outcomes import needs_details


def obs(
    status: str,
    *,
    api: str = "v1",
    legs: tuple[str, ...] = (),
    detail: tuple[str | None, str | None] | None = None,
) -> CallObservation:
    return CallObservation(
        sid="c" * 32,
        api=api,  # type: ignore[arg-type]
        source="bulk",
        event="status",
        terminal=True,
        status=status,
        legs=tuple(LegState(s) for s in legs),
        detail_leg_status=detail,
    )


@pytest.mark.parametrize("status", ["completed", "busy", "no-answer", "failed", "canceled"])
@pytest.mark.parametrize("mode", ["agent_first", "contact_first"])
def test_two_leg_modes_need_the_legs_whatever_the_status(mode: str, status: str) -> None:
    assert needs_details(obs(status), mode)  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "needed"), [("completed", True), ("busy", False)])
def test_a_flow_needs_details_only_for_the_talk_time(status: str, needed: bool) -> None:
    assert needs_details(obs(status), "flow") is needed


@pytest.mark.parametrize(
    "known",
    [
        {"legs": ("completed", "busy")},
        {"detail": ("completed", "busy")},
    ],
    ids=["callback-legs", "details"],
)
def test_known_legs_decide(known: dict[str, object]) -> None:
    assert not needs_details(obs("busy", **known), "agent_first")  # type: ignore[arg-type]


def test_v3_never_needs_v1_details() -> None:
    assert not needs_details(obs("to_leg_unanswered", api="v3"), "agent_first")
