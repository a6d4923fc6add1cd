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
from typing import Literal

ApiVersion = Literal["v1", "v3"]
DialMode = Literal["agent_first", "contact_first", "flow"]
CallbackEvent = Literal["answered", "terminal"]
CallbackContentType = Literal["application/json", "multipart/form-data"]


class Outcome(StrEnum):
    """The final (or current best) result for a call or a contact, for both APIs."""

    CONNECTED = "connected"  # agent (or flow) and contact talked
    BUSY = "busy"  # the contact's line was busy
    NO_ANSWER = "no_answer"  # the contact's phone rang out / was unreachable
    FAILED = "failed"  # the call could not be placed to the contact (bad number, network)
    AGENT_UNANSWERED = "agent_unanswered"  # the agent side did not answer or hung up first
    SKIPPED = "skipped"  # never dialed: invalid, duplicate, DND or opted out
    EXPIRED = "expired"  # deadline or window ended before a final outcome
    UNKNOWN = "unknown"  # a placed call whose result could not be learnt in time


# Outcomes a retry policy may list in ``retry.on``.
RETRYABLE_OUTCOMES = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.FAILED})


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
