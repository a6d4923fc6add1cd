"""Exotel's call states -> campaigner's outcome vocabulary. Pure; docs/outcomes.md is the table.

Leg 0 is always the first-dialed leg (Exotel's ``From``). In ``agent_first`` mode
that is the agent and leg 1 the contact; in ``contact_first`` and ``flow`` mode
leg 0 is the contact and leg 1 the agent (or nothing, for a flow).

Each API version maps its own statuses (its ``verdict`` in campaigner.exotel's
``v1_version.py``/``v3_version.py``, found through the registry); this module is the one
entry point the engine calls, whatever the version.
"""

from __future__ import annotations

from campaigner.domain import OUTCOMES, CallObservation, DialMode, Outcome, Verdict
from campaigner.exotel.registry import api_version

__all__ = ["Verdict", "is_agent_side", "needs_details", "verdict"]  # Verdict: defined in domain


def verdict(obs: CallObservation, mode: DialMode) -> Verdict | None:
    """The outcome a terminal observation implies, or None while the call is active."""
    if not obs.terminal:
        return None
    return api_version(obs.api).verdict(obs, mode)


def needs_details(obs: CallObservation, mode: DialMode) -> bool:
    """Whether a terminal observation lacks what decides its outcome, so the call's own
    details must be read first (v1: a status without the legs that decide it)."""
    return api_version(obs.api).needs_details(obs, mode)


def is_agent_side(outcome: Outcome) -> bool:
    """Agent-side failures re-queue the contact without spending its attempts (bounded)."""
    return OUTCOMES[outcome].side == "agent"
