"""The v1 API as one :class:`ApiDescription`: the connect form, bulk polling, its outcomes.

v1 (``/v1/Accounts/<sid>/Calls/connect``, a form) has CallType and flows but one playback
at the start, POST callbacks and no state management; bulk call details list up to 100
SIDs a request, so open calls are polled in rounds. Its records finish after the call
(an epoch-zero ``EndTime`` until then) and carry a ``Price``.

The outcome mapping (docs/outcomes.md): leg 0 is the first-dialed leg (``From``); leg
statuses win over the overall ``Status`` when both are known, since Exotel's own example
shows ``Status: no-answer`` with both legs ``completed`` and 32 s of conversation (the
v1 call details page: the overall status and the legs can disagree).
"""

from __future__ import annotations

from campaigner.domain import CallObservation, DialMode, Outcome, Verdict
from campaigner.exotel import parse, v1
from campaigner.exotel.api_version import ApiDescription, ApiWire, Capabilities
from campaigner.exotel.callbacks import parse_v1_callback

_LEG_FAILURE = {
    "busy": Outcome.BUSY,
    "no-answer": Outcome.NO_ANSWER,
    "failed": Outcome.FAILED,
    "canceled": Outcome.NO_ANSWER,
}


def verdict(obs: CallObservation, mode: DialMode) -> Verdict:
    """The outcome of a terminal v1 observation."""
    legs = _leg_statuses(obs)
    if legs is not None and legs[0] is not None:
        return _legs_verdict(legs[0], legs[1], mode)
    status = (obs.status or "").lower()
    if status == "completed":
        return Verdict(Outcome.CONNECTED, "status completed")
    if status in _LEG_FAILURE:
        # Without legs (bulk listing, basic callback) the overall status is all we
        # have; it is taken as the contact's result, which spends an attempt.
        return Verdict(_LEG_FAILURE[status], f"status {status}")
    return Verdict(Outcome.UNKNOWN, f"unrecognised status {status or 'empty'}")


def needs_details(obs: CallObservation, mode: DialMode) -> bool:
    """Whether a terminal v1 observation lacks what decides its outcome, so the call's own
    details (``details=true``: leg statuses and conversation time) must be read first.

    The bulk listing and the basic callback carry only the overall ``Status``. In the
    two-leg modes that does not say whose leg failed (an agent's busy line reads like a
    contact's), and a ``completed`` call needs its talk time, which only ``Details``
    (``ConversationDuration``) or the terminal callback carries. A flow's single leg is
    the contact's, so there only ``completed`` needs more.
    """
    if _leg_statuses(obs) is not None:
        return False
    return mode != "flow" or (obs.status or "").lower() == "completed"


def _leg_statuses(obs: CallObservation) -> tuple[str | None, str | None] | None:
    if obs.detail_leg_status is not None:
        return obs.detail_leg_status
    if obs.legs:
        second = obs.legs[1].status if len(obs.legs) > 1 else None
        return obs.legs[0].status, second
    return None


def _legs_verdict(first: str, second: str | None, mode: DialMode) -> Verdict:
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


def parse_callback(body: bytes, content_type: str, query: str, method: str) -> CallObservation:
    """A v1 StatusCallback; v1 callbacks are always POSTed, so ``method`` is not read."""
    return parse_v1_callback(body, content_type, query)


VERSION = ApiDescription(
    name="v1",
    wire=ApiWire(
        host="v1_base",
        connect=v1.build_connect,
        call_details=v1.build_call_details,
        parse_call=parse.v1_call,
    ),
    capabilities=Capabilities(
        call_type="CallType",
        flow="Url of a flow",
        playback="StartPlaybackValue",
        playback_list=None,
        playback_at_end=None,
        callback_method=None,
        state_management=None,
        sip_agents=None,
    ),
    polling="bulk_rounds",
    # Bulk rounds poll up to 100 calls a request (about 1-5 % of the budget goes on them).
    dial_share=0.97,
    separate_host=False,
    records_finish_late=True,
    priced_records=True,
    parse_callback=parse_callback,
    verdict=verdict,
    needs_details=needs_details,
)
