"""The vocabulary every layer shares: outcomes, compiled call specs, observed call states.

Pure data, no I/O. Data flows one way:

    campaign (what the user wrote)
      -> compile: CallSpec (what one call will ask for, API-neutral)
      -> exotel: wire request (v1 form or v3 JSON; only campaigner.exotel knows these)
      -> engine: sends it, receives CallObservation from callbacks and polls
      -> outcomes: CallObservation -> Outcome
      -> store / report

``CallSpec`` speaks campaign terms; ``campaigner.exotel.v1``/``v3`` turn it into
Exotel's exact field names. ``CallObservation`` is what the client makes of any
answer or callback, in both API versions, with Exotel's own status strings kept
verbatim so that the outcome mapping (docs/outcomes.md) is one pure function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal, get_args

ApiVersion = Literal["v1", "v3"]
DialMode = Literal["agent_first", "contact_first", "flow"]
CallbackEvent = Literal["answered", "terminal"]
CallbackContentType = Literal["application/json", "multipart/form-data"]


class Outcome(StrEnum):
    """The final (or current best) result for a call or a contact, for both APIs.

    Declared in the order reports list and stack them; :data:`OUTCOMES` holds the rest
    of each outcome's definition.
    """

    CONNECTED = "connected"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    AGENT_UNANSWERED = "agent_unanswered"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    SKIPPED = "skipped"


# Whose side a call that did not connect failed on (the report's "why not connected").
Side = Literal["agent", "contact", "unknown"]


@dataclass(frozen=True, slots=True)
class Shown:
    """How a report shows a key: its words and its colour (a CSS colour)."""

    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class OutcomeTraits:
    """What an outcome means beyond its name, for every layer that has to know.

    ``retryable``: a retry policy may list it in ``retry.on`` (the contact's side failed in
    a way another try can fix). ``side``: whose side failed, for a call that ended with it
    (None: it connected, or it is a contact's state rather than a call's result).
    """

    meaning: str  # as docs/outcomes.md's first table says it
    retryable: bool
    side: Side | None
    shown: Shown


# The one definition of the outcome vocabulary: the policy's retry.on, the funnel, the
# report's order, labels and colours and docs/outcomes.md's first table are derived from
# or checked against it (tests/core/test_vocabulary.py).
OUTCOMES: dict[Outcome, OutcomeTraits] = {
    Outcome.CONNECTED: OutcomeTraits(
        "the agent (or flow) and the contact talked", False, None, Shown("connected", "#1f9d5c")
    ),
    Outcome.BUSY: OutcomeTraits(
        "the contact's line was busy", True, "contact", Shown("busy", "#f0a202")
    ),
    Outcome.NO_ANSWER: OutcomeTraits(
        "the contact's phone rang out, was switched off or unreachable",
        True,
        "contact",
        Shown("no answer", "#ec6a2c"),
    ),
    Outcome.FAILED: OutcomeTraits(
        "the call could not be placed to the contact (bad number, network, Exotel refused "
        "the parameters)",
        True,
        "contact",
        Shown("failed", "#d23645"),
    ),
    Outcome.AGENT_UNANSWERED: OutcomeTraits(
        "the agent side failed: the agent did not answer, hung up first, or was busy",
        False,
        "agent",
        Shown("agent unanswered", "#7c55d9"),
    ),
    Outcome.UNKNOWN: OutcomeTraits(
        "a call was placed but its result could not be learnt within "
        "`tracking.give_up_after`, or Exotel reported a status campaigner does not know",
        False,
        "unknown",
        Shown("unknown", "#56627a"),
    ),
    Outcome.EXPIRED: OutcomeTraits(
        "the deadline passed (or no calling window remained) before the contact reached a "
        "final outcome",
        False,
        None,
        Shown("expired", "#a0714f"),
    ),
    Outcome.SKIPPED: OutcomeTraits(
        "never dialed: invalid number, duplicate row, on the DND registry, opted out, or "
        "removed from the file on resume (the reason is recorded)",
        False,
        None,
        Shown("skipped", "#b5bdc8"),
    ),
}

# A contact not final yet, as reports show it while a run is live, after the outcomes.
LIVE_STATES: dict[str, Shown] = {
    "in_call": Shown("in call", "#2a7de1"),
    "pending": Shown("pending", "#a9cff5"),
}

# The outcomes a retry policy may list. A Literal, so the campaign schema lists them; it
# must equal the retryable outcomes above, which is checked right here, at import.
RetryOutcome = Literal["busy", "no_answer", "failed"]
if set(get_args(RetryOutcome)) != {o.value for o, t in OUTCOMES.items() if t.retryable}:
    raise AssertionError("RetryOutcome differs from the retryable outcomes in OUTCOMES")


def outcomes_on(side: Side) -> tuple[Outcome, ...]:
    """The outcomes of calls that failed on ``side``, in the vocabulary's order."""
    return tuple(o for o, traits in OUTCOMES.items() if traits.side == side)


@dataclass(frozen=True, slots=True)
class Playback:
    """Audio played to callee or both; v1 supports one ``start`` playback only."""

    url: str
    to: Literal["callee", "both"] = "callee"
    event: Literal["start", "end"] = "start"


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One connect request, fully rendered for one contact and attempt, API-neutral.

    ``first_leg`` is dialed first (Exotel's ``From``/``from``); ``second_leg`` is
    connected when it answers (``To``/``to``), or ``flow_app_id`` names the Exotel
    flow to connect instead (v1 only). Optional fields left ``None`` are not sent,
    so Exotel's own defaults apply, except ``record``, ``time_limit`` and
    ``ring_timeout``: Exotel's defaults for those differ from campaigner's or are not
    documented, so the wire builders send campaigner's (campaigner.exotel.wire).
    """

    api: ApiVersion
    first_leg: str
    caller_id: str
    second_leg: str | None = None
    flow_app_id: str | None = None
    state_management: bool | None = None
    call_type: str | None = None
    time_limit: int | None = None
    ring_timeout: int | None = None
    wait_audio_url: str | None = None
    record: bool | None = None
    recording_channels: Literal["single", "dual"] | None = None
    recording_format: Literal["mp3", "mp3-hq"] | None = None
    custom_field: str | None = None
    stream_url: str | None = None
    stream_begin: Literal["from_leg_connect", "to_leg_connect"] | None = None
    playback: tuple[Playback, ...] = ()
    status_callback_url: str | None = None
    callback_events: tuple[CallbackEvent, ...] = ("terminal",)
    callback_content_type: CallbackContentType | None = None
    callback_method: Literal["POST", "GET"] | None = None


@dataclass(frozen=True, slots=True)
class LegState:
    """One leg as Exotel reported it. Index 0 is the first-dialed leg (From).

    ``status`` is Exotel's own string (v1: completed, busy, failed, no-answer,
    canceled, in-progress; v3 legs: in-progress, completed, failed, no-answer) or
    ``None`` when the leg was never attempted (an empty string on the wire).
    """

    status: str | None
    on_call_duration: int | None = None


ObservationSource = Literal["callback", "details", "bulk", "connect", "legs"]


@dataclass(frozen=True, slots=True)
class CallObservation:
    """What one answer or callback told us about one call, in either API version.

    ``terminal`` means Exotel says the call is over. ``record_complete`` means the
    record is final too (a real end time, not the epoch-zero placeholder), so talk
    time and recording may be taken from it. ``status`` is Exotel's overall status
    verbatim (v1 ``Status`` or v3 ``status``); ``detail_leg_status`` holds v1
    ``Details.Leg1Status``/``Leg2Status`` when ``details=true`` was asked.
    """

    sid: str
    api: ApiVersion
    source: ObservationSource
    event: Literal["answered", "terminal", "status"]
    terminal: bool
    status: str | None
    legs: tuple[LegState, ...] = ()
    detail_leg_status: tuple[str | None, str | None] | None = None
    record_complete: bool = False
    talk_time: int | None = None
    duration: int | None = None
    recording_url: str | None = None
    price: Decimal | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    from_number: str | None = None
    to_number: str | None = None
    caller_id: str | None = None
    custom_field: str | None = None
    state: str | None = None  # v3 only: active | terminal
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Verdict:
    """An outcome and the short reason it was chosen (shown in reports and exports).

    Here, with the vocabulary, because each API version's mapping (campaigner.exotel's
    version modules) and the tracker that applies it both speak it.
    """

    outcome: Outcome
    reason: str
