"""A call's whole life, decided when it is created; its state at any instant is pure.

Each call gets a seeded timeline in simulated seconds from its creation: when the first
leg starts ringing (``q``), when it answers (``a1``), when the second leg answers
(``a2``) and when the call ends (``end``), plus the final status of the call and of each
leg. What a GET shows or a callback carries at trio time ``t`` is a function of
``(t - created) * time_scale`` only, so 300k calls cost no tasks and GETs always agree
with callbacks.

Leg outcomes are decided per leg (docs/exotel/README.md: Exotel "Dials `From` first; when it
answers, dials `To`"), so agent-first and contact-first campaigns both work: the first
leg is ``From`` whoever it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from campaigner.simulator.scenario import Kind, Timing

# Leg fates: what a leg will do when dialed.
ANSWER, BUSY, NO_ANSWER, FAILED, HANGUP = "answer", "busy", "no-answer", "failed", "hangup"
_LEG_FAIL = (BUSY, NO_ANSWER, FAILED)

# What a configured number outcome means for the leg the number is on.
_FATE: dict[str, str] = {
    "completed": ANSWER,
    "busy": BUSY,
    "no_answer": NO_ANSWER,
    "failed": FAILED,
    "agent_unanswered": NO_ANSWER,
    "agent_hangup": HANGUP,
}
_KIND_OF_FAIL: dict[str, Kind] = {BUSY: "busy", NO_ANSWER: "no_answer", FAILED: "failed"}

# Extra kinds for calls that never dialed a leg (v3 statuses from/to_leg_no_dial).
FROM_NO_DIAL = "from_leg_no_dial"  # ExoPhone outgoing down, or a v3 `from` on DND
TO_NO_DIAL = "to_leg_no_dial"  # the second leg was never dialed (v3 call to a DND number)


@dataclass(slots=True)
class CallOptions:
    """What a connect request asked for beyond the numbers (None fields: not sent)."""

    from_raw: str  # numbers exactly as the request gave them (callbacks echo these)
    to_raw: str | None
    record: bool = False
    custom_field: str | None = None
    app_id: str | None = None  # call-to-flow
    callback_url: str | None = None  # v1 StatusCallback
    events: tuple[str, ...] = ()  # v1 StatusCallbackEvents
    content_type: str = "multipart/form-data"  # v1 StatusCallbackContentType
    v3_callbacks: tuple[tuple[str, str, str, str], ...] = ()  # (event, url, method, type)


class SimCall:
    """One simulated call: identity, request options and its decided timeline.

    Offsets (``q``, ``a1``, ``a2``, ``end``) are whole simulated seconds from creation;
    ``a1``/``a2`` are None when that leg never answers. ``leg1``/``leg2`` and ``status``
    are the final v1 values ("" for a leg never dialed).
    """

    __slots__ = (
        "a1",
        "a2",
        "api",
        "caller",
        "created",
        "drift",
        "end",
        "frm",
        "kind",
        "leg1",
        "leg2",
        "lost",
        "next_event",
        "opts",
        "q",
        "seq",
        "sid",
        "status",
        "to",
        "wall0",
    )

    def __init__(self, sid: str, seq: int, api: str, frm: str, to: str | None, caller: str):
        self.sid = sid
        self.seq = seq
        self.api = api
        self.frm = frm
        self.to = to
        self.caller = caller
        self.created = 0.0  # trio time of creation
        self.wall0 = 0.0  # POSIX timestamp of creation (from the injected WallClock)
        self.kind = "completed"
        self.status = "completed"
        self.leg1 = "completed"
        self.leg2 = "completed"
        self.q = 0
        self.a1: int | None = 0
        self.a2: int | None = 0
        self.end = 0
        self.opts: CallOptions | None = None
        self.drift = 0  # bits choosing how field types drift (see render modules)
        self.lost = 0  # 1: answer lost on purpose; 2: a 5xx, 408 or 499 for a call made
        self.next_event = 0  # index of the next status callback event to dispatch

    @property
    def talk(self) -> int:
        """Conversation seconds (both legs connected)."""
        return self.end - self.a2 if self.a2 is not None else 0

    @property
    def leg1_on(self) -> int:
        """Seconds the first leg was on the call (0 if it never answered)."""
        return self.end - self.a1 if self.a1 is not None else 0


@dataclass(frozen=True, slots=True)
class Plan:
    """Inputs that decide a call's fates (besides the random draws)."""

    from_kind: str | None  # the From number's configured outcome
    to_kind: str | None  # the To number's configured outcome (None for flows)
    mix_kind: str  # this call's draw from the outcome mix
    customer_leg: int  # 1 in contact-first calls (To is an agent), else 2
    leg1_busy: bool = False  # From is on another call or marked busy
    leg2_busy: bool = False
    flow: bool = False
    from_no_dial: bool = False
    to_no_dial: bool = False
    ring_timeout: int | None = None  # TimeOut / attempt_time_out
    time_limit: int | None = None  # TimeLimit / max_time_limit
    compress: bool = False  # a very short call (early-callback fault)


def _mix_fates(plan: Plan) -> tuple[str, str]:
    kind = plan.mix_kind
    if kind == "agent_unanswered":
        return NO_ANSWER, ANSWER
    if kind == "agent_hangup":
        return HANGUP, ANSWER
    fate = _FATE[kind]
    return (fate, ANSWER) if plan.customer_leg == 1 else (ANSWER, fate)


def decide_fates(plan: Plan) -> tuple[str, str, str]:
    """(kind, leg-1 fate, leg-2 fate); leg-2 fate is "" when leg 2 is never dialed."""
    if plan.from_no_dial:
        return FROM_NO_DIAL, FAILED, ""
    fate1, fate2 = _mix_fates(plan)
    if plan.from_kind is not None:
        fate1 = _FATE[plan.from_kind]
    if plan.to_kind is not None:
        fate2 = _FATE[plan.to_kind]
        if fate2 == HANGUP:  # "agent hangs up while this number rings": a leg-1 behaviour
            fate1, fate2 = HANGUP, ANSWER
    fate1 = BUSY if plan.leg1_busy else fate1
    fate2 = BUSY if plan.leg2_busy else fate2
    if plan.flow:
        fate1 = ANSWER if fate1 == HANGUP else fate1
        kind = "completed" if fate1 == ANSWER else _KIND_OF_FAIL[fate1]
        return kind, fate1, ""
    if fate1 in _LEG_FAIL:
        kind = _KIND_OF_FAIL[fate1] if plan.customer_leg == 1 else "agent_unanswered"
        return kind, fate1, ""
    if fate1 == HANGUP:
        return "agent_hangup", HANGUP, "canceled"
    if plan.to_no_dial:
        return TO_NO_DIAL, ANSWER, ""
    if fate2 in _LEG_FAIL:
        kind = _KIND_OF_FAIL[fate2] if plan.customer_leg == 2 else "agent_unanswered"
        return kind, ANSWER, fate2
    return "completed", ANSWER, ANSWER


def _draw(rng: random.Random, span: tuple[float, float], compress: bool) -> int:
    return 0 if compress else round(rng.uniform(*span))


def _ring(rng: random.Random, fate: str, timing: Timing, plan: Plan) -> int:
    if plan.compress:
        return 0
    if fate == NO_ANSWER:
        if plan.ring_timeout is not None:
            return plan.ring_timeout
        return _draw(rng, timing.no_answer_ring, False)
    if fate == BUSY:
        return _draw(rng, timing.busy_after, False)
    if fate == FAILED:
        return _draw(rng, timing.failed_after, False)
    ring = _draw(rng, timing.ring, False)
    return min(ring, plan.ring_timeout) if plan.ring_timeout is not None else ring


def _talk(rng: random.Random, timing: Timing, plan: Plan) -> int:
    talk = 1 if plan.compress else max(1, _draw(rng, timing.talk, False))
    return min(talk, plan.time_limit) if plan.time_limit is not None else talk


def apply_timeline(call: SimCall, plan: Plan, timing: Timing, rng: random.Random) -> None:
    """Decide ``call``'s fates and draw its offsets and final statuses, in place."""
    kind, fate1, fate2 = decide_fates(plan)
    call.kind = kind
    call.q = _draw(rng, timing.queue, plan.compress)
    if fate1 in _LEG_FAIL:
        call.a1 = call.a2 = None
        call.end = call.q + (0 if kind == FROM_NO_DIAL else _ring(rng, fate1, timing, plan))
        call.leg1, call.leg2, call.status = fate1, "", fate1
        return
    call.a1 = call.q + _ring(rng, ANSWER, timing, plan)
    call.leg1 = "completed"
    if plan.flow or fate2 == ANSWER:
        ring2 = 0 if plan.flow else _ring(rng, ANSWER, timing, plan)
        call.a2 = call.a1 + ring2
        call.end = call.a2 + _talk(rng, timing, plan)
        call.leg2, call.status = ("" if plan.flow else "completed"), "completed"
        return
    call.a2 = None
    call.leg2 = fate2
    call.status = "failed" if fate2 in ("canceled", "") else fate2
    if fate1 == HANGUP:
        call.end = call.a1 + max(1, _draw(rng, timing.hangup_after, plan.compress))
    elif kind == TO_NO_DIAL:
        call.end = call.a1 + (0 if plan.compress else 2)
    else:
        call.end = call.a1 + _ring(rng, fate2, timing, plan)


def v1_status_at(call: SimCall, x: float) -> str:
    """The v1 overall ``Status`` at ``x`` simulated seconds after creation (live part)."""
    if x >= call.end:
        return call.status
    if x < call.q:
        return "queued"
    if call.a1 is None or x < call.a1:
        return "ringing"
    return "in-progress"


def legs_at(call: SimCall, x: float) -> tuple[str, str]:
    """Leg statuses at ``x``: "" until answered, ``in-progress`` while up, then final."""
    if x >= call.end:
        return call.leg1, call.leg2
    leg1 = "in-progress" if call.a1 is not None and x >= call.a1 else ""
    leg2 = "in-progress" if call.a2 is not None and x >= call.a2 and call.to else ""
    return leg1, leg2


def v3_status(call: SimCall) -> str:
    """The v3 terminal ``status`` (002 page) for the call's decided outcome."""
    if call.kind in (FROM_NO_DIAL, TO_NO_DIAL):
        return call.kind
    if call.kind == "agent_hangup":
        return "from_leg_cancelled"
    if call.status == "completed":
        return "completed"
    return "from_leg_unanswered" if call.leg1 != "completed" else "to_leg_unanswered"
