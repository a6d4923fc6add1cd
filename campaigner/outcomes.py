"""Exotel's call states -> campaigner's outcome vocabulary. Pure; docs/outcomes.md is the table.

Leg 0 is always the first-dialed leg (Exotel's ``From``). In ``agent_first`` mode
that is the agent and leg 1 the contact; in ``contact_first`` and ``flow`` mode
leg 0 is the contact and leg 1 the agent (or nothing, for a flow).

Leg statuses win over the overall status when both are known: Exotel's own
example shows ``Status: no-answer`` with both legs ``completed`` and 32 s of
conversation (exotel-api.md, "the overall status and the legs can disagree").
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigner.domain import OUTCOMES, CallObservation, DialMode, Outcome

_LEG_FAILURE = {
    "busy": Outcome.BUSY,
    "no-answer": Outcome.NO_ANSWER,
    "failed": Outcome.FAILED,
    "canceled": Outcome.NO_ANSWER,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """An outcome and the short reason it was chosen (shown in reports and exports)."""

    outcome: Outcome
    reason: str


def verdict(obs: CallObservation, mode: DialMode) -> Verdict | None:
    """The outcome a terminal observation implies, or None while the call is active."""
    if not obs.terminal:
        return None
    if obs.api == "v3":
        return _v3(obs, mode)
    return _v1(obs, mode)


def needs_details(obs: CallObservation, mode: DialMode) -> bool:
    """Whether a terminal v1 observation lacks what decides its outcome, so the call's own
    details (``details=true``: leg statuses and conversation time) must be read first.

    The bulk listing and the basic callback carry only the overall ``Status``. In the
    two-leg modes that does not say whose leg failed (an agent's busy line reads like a
    contact's), and a ``completed`` call needs its talk time, which only ``Details``
    (``ConversationDuration``) or the terminal callback carries. A flow's single leg is
    the contact's, so there only ``completed`` needs more.
    """
    if obs.api != "v1" or _leg_statuses(obs) is not None:
        return False
    return mode != "flow" or (obs.status or "").lower() == "completed"


def _leg_statuses(obs: CallObservation) -> tuple[str | None, str | None] | None:
    if obs.detail_leg_status is not None:
        return obs.detail_leg_status
    if obs.legs:
        second = obs.legs[1].status if len(obs.legs) > 1 else None
        return obs.legs[0].status, second
    return None


def _v1(obs: CallObservation, mode: DialMode) -> Verdict:
    legs = _leg_statuses(obs)
    if legs is not None and legs[0] is not None:
        return _v1_legs(legs[0], legs[1], mode)
    status = (obs.status or "").lower()
    if status == "completed":
        return Verdict(Outcome.CONNECTED, "status completed")
    if status in _LEG_FAILURE:
        # Without legs (bulk listing, basic callback) the overall status is all we
        # have; it is taken as the contact's result, which spends an attempt.
        return Verdict(_LEG_FAILURE[status], f"status {status}")
    return Verdict(Outcome.UNKNOWN, f"unrecognised status {status or 'empty'}")


def _v1_legs(first: str, second: str | None, mode: DialMode) -> Verdict:
    first, second = first.lower(), (second or "").lower() or None
    if mode == "agent_first":
        if first != "completed":
            return Verdict(Outcome.AGENT_UNANSWERED, f"agent leg {first}")
        if second == "completed":
            return Verdict(Outcome.CONNECTED, "both legs completed")
        if second == "canceled":
            return Verdict(Outcome.AGENT_UNANSWERED, "agent hung up while the contact rang")
        if second is None:
            return Verdict(Outcome.FAILED, "contact leg not attempted")
        return Verdict(_LEG_FAILURE.get(second, Outcome.FAILED), f"contact leg {second}")
    if first != "completed":
        return Verdict(_LEG_FAILURE.get(first, Outcome.FAILED), f"contact leg {first}")
    if mode == "flow" or second == "completed":
        return Verdict(Outcome.CONNECTED, "contact leg completed")
    return Verdict(Outcome.AGENT_UNANSWERED, f"agent leg {second or 'not attempted'}")


# v3 status -> (outcome when leg 0 is the agent, outcome when leg 0 is the contact)
_V3 = {
    "completed": (Outcome.CONNECTED, Outcome.CONNECTED),
    "from_leg_unanswered": (Outcome.AGENT_UNANSWERED, Outcome.NO_ANSWER),
    "to_leg_unanswered": (Outcome.NO_ANSWER, Outcome.AGENT_UNANSWERED),
    "from_leg_cancelled": (Outcome.AGENT_UNANSWERED, Outcome.AGENT_UNANSWERED),
    "to_leg_no_dial": (Outcome.FAILED, Outcome.AGENT_UNANSWERED),
    "from_leg_no_dial": (Outcome.AGENT_UNANSWERED, Outcome.FAILED),
}
_V3_LEG = {"no-answer": Outcome.NO_ANSWER, "failed": Outcome.FAILED, "busy": Outcome.BUSY}


def _v3(obs: CallObservation, mode: DialMode) -> Verdict:
    status = (obs.status or "").lower()
    pair = _V3.get(status)
    if pair is None:
        return Verdict(Outcome.UNKNOWN, f"unrecognised status {status or 'empty'}")
    outcome = pair[0] if mode == "agent_first" else pair[1]
    contact_leg = 1 if mode == "agent_first" else 0
    if outcome is Outcome.NO_ANSWER and len(obs.legs) > contact_leg:
        # The legs endpoint tells failed from no-answer when we have it.
        leg_status = (obs.legs[contact_leg].status or "").lower()
        outcome = _V3_LEG.get(leg_status, outcome)
    return Verdict(outcome, f"status {status}")


def is_agent_side(outcome: Outcome) -> bool:
    """Agent-side failures re-queue the contact without spending its attempts (bounded)."""
    return OUTCOMES[outcome].side == "agent"
