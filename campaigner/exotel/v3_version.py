"""The v3 API as one :class:`ApiDescription`: JSON calls, per-call polling, its outcomes.

v3 (``/v3/accounts/<sid>/calls``, JSON, on a host of its own) has a list of playbacks
that may play at the end, GET or POST callbacks, state management on the first leg and
SIP agents, but no CallType or flows. Each call's details are asked for on their own.
Its statuses name the leg that failed (docs/outcomes.md); the legs endpoint tells
``failed`` from ``no-answer`` when it was read.
"""

from __future__ import annotations

from campaigner.domain import CallObservation, DialMode, Outcome, Verdict
from campaigner.exotel import parse, v3
from campaigner.exotel.api_version import ApiDescription, ApiWire, Capabilities
from campaigner.exotel.callbacks import parse_v3_callback

# v3 status -> (outcome when leg 0 is the agent, outcome when leg 0 is the contact)
_STATUS = {
    "completed": (Outcome.CONNECTED, Outcome.CONNECTED),
    "from_leg_unanswered": (Outcome.AGENT_UNANSWERED, Outcome.NO_ANSWER),
    "to_leg_unanswered": (Outcome.NO_ANSWER, Outcome.AGENT_UNANSWERED),
    "from_leg_cancelled": (Outcome.AGENT_UNANSWERED, Outcome.AGENT_UNANSWERED),
    "to_leg_no_dial": (Outcome.FAILED, Outcome.AGENT_UNANSWERED),
    "from_leg_no_dial": (Outcome.AGENT_UNANSWERED, Outcome.FAILED),
}
_LEG = {"no-answer": Outcome.NO_ANSWER, "failed": Outcome.FAILED, "busy": Outcome.BUSY}


def verdict(obs: CallObservation, mode: DialMode) -> Verdict:
    """The outcome of a terminal v3 observation."""
    status = (obs.status or "").lower()
    pair = _STATUS.get(status)
    if pair is None:
        return Verdict(Outcome.UNKNOWN, f"unrecognised status {status or 'empty'}")
    outcome = pair[0] if mode == "agent_first" else pair[1]
    contact_leg = 1 if mode == "agent_first" else 0
    if outcome is Outcome.NO_ANSWER and len(obs.legs) > contact_leg:
        # The legs endpoint tells failed from no-answer when we have it.
        leg_status = (obs.legs[contact_leg].status or "").lower()
        outcome = _LEG.get(leg_status, outcome)
    return Verdict(outcome, f"status {status}")


def needs_details(obs: CallObservation, mode: DialMode) -> bool:
    """Never: a terminal v3 status names the leg that decided it."""
    return False


VERSION = ApiDescription(
    name="v3",
    wire=ApiWire(
        host="v3_base",
        connect=v3.build_connect,
        call_details=v3.build_call_details,
        parse_call=parse.v3_call,
    ),
    capabilities=Capabilities(
        call_type=None,
        flow=None,
        playback="playback",
        playback_list="a list of playback",
        playback_at_end="playback[].event: end",
        callback_method="status_callback[].method",
        state_management="from.state_management",
        sip_agents="from.contact_uri with VoIP",
    ),
    polling="per_call",
    # Each poll is a request of its own: a fifth of the budget is kept for them.
    dial_share=0.8,
    separate_host=True,
    records_finish_late=False,
    priced_records=False,
    parse_callback=parse_v3_callback,
    verdict=verdict,
    needs_details=needs_details,
)
