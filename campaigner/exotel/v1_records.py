"""Typed readers for v1 answers and callbacks, and their translation to CallObservation.

Field names follow the reference (003 for the Call record and StatusCallback, 001 for
``Details``, bulk ``Metadata`` and number metadata); unknown fields are ignored and every
value goes through the lenient readers of :mod:`campaigner.exotel.values`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_pascal

from campaigner.domain import CallObservation, LegState, ObservationSource
from campaigner.exotel.values import Count, ExoTime, Lower, Money, Text

# 003: Status values that mean the call is over (canceled is among the bulk filter values).
TERMINAL_STATUSES = frozenset({"completed", "failed", "busy", "no-answer", "canceled"})


def _none_to_list(value: object) -> object:
    return [] if value is None or value == "" else value


def _one_to_list(value: object) -> object:
    # A v1 XML list with a single element arrives as that element, not a list.
    return [value] if isinstance(value, dict) else _none_to_list(value)


def _xml_list(item: str) -> Callable[[object], object]:
    """A list that v1 XML wraps TwilioResponse-style: ``<Calls><Call>..</Call>..</Calls>``.

    003 answers XML under ``<TwilioResponse>`` unless ``.json`` is asked for; in that format
    a list is a plural element holding singular ones, which decodes to
    ``{"Calls": {"Call": [...]}}`` (or ``{"Call": {...}}`` for one item). JSON's plain
    lists, and a lone record, still read as before.
    """

    def unwrap(value: object) -> object:
        if isinstance(value, dict) and set(value) == {item}:
            inner = value[item]
            return inner if isinstance(inner, list) else [inner]
        return _one_to_list(value)

    return unwrap


class _V1(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_pascal)


class DetailLegInfo(_V1):
    id: Count = None
    on_call_duration: Count = None


def _wrap_leg(value: object) -> object:
    # 001 shows Details.Legs as [{"Leg": {"Id", "OnCallDuration"}}]; accept the bare
    # {"Id", "OnCallDuration"} too rather than fail a whole poll on the wrapper.
    if isinstance(value, dict) and "Leg" not in value:
        return {"Leg": value}
    return value


class DetailLeg(_V1):
    leg: DetailLegInfo


class Details(_V1):
    """``?details=true`` adds these (docs/exotel/quirks.md)."""

    conversation_duration: Count = None
    leg1_status: Lower = None
    leg2_status: Lower = None
    legs: Annotated[
        list[Annotated[DetailLeg, BeforeValidator(_wrap_leg)]], BeforeValidator(_xml_list("Leg"))
    ] = []


class V1Call(_V1):
    """A v1 ``Call`` record: connect answer, call details, or one bulk entry."""

    sid: Annotated[str, Field(min_length=1)]
    parent_call_sid: Text = None
    date_created: ExoTime = None
    date_updated: ExoTime = None
    account_sid: Text = None
    to: Text = None
    from_: Text = Field(default=None, alias="From")
    phone_number_sid: Text = None
    status: Lower = None
    start_time: ExoTime = None
    end_time: ExoTime = None
    duration: Count = None
    price: Money = None
    direction: Text = None
    answered_by: Lower = None
    recording_url: Text = None
    custom_field: Text = None
    details: Details | None = None

    def observation(self, source: ObservationSource, raw: dict[str, object]) -> CallObservation:
        """What this record says about the call.

        docs/exotel/quirks.md: "The v1 Call record is finished late": ``Status: completed`` can
        come with epoch-zero ``EndTime`` and null ``Duration``/``Price`` for a while, so
        the record is complete only once both are real.
        """
        terminal = self.status in TERMINAL_STATUSES
        details = self.details
        complete = terminal and self.end_time is not None and self.duration is not None
        # docs/exotel/quirks.md: "Don't finalise talk time until `EndTime` is real": Details may
        # carry a ConversationDuration (0 mid-call) before the record is finished.
        talk_time = details.conversation_duration if details and complete else None
        return CallObservation(
            sid=self.sid,
            api="v1",
            source=source,
            event="status",
            terminal=terminal,
            status=self.status,
            legs=_detail_legs(details) if details else (),
            detail_leg_status=(details.leg1_status, details.leg2_status) if details else None,
            record_complete=complete,
            talk_time=talk_time,
            duration=self.duration,
            recording_url=self.recording_url,
            price=self.price,
            created_at=self.date_created,
            started_at=self.start_time,
            ended_at=self.end_time,
            from_number=self.from_,
            to_number=self.to,
            caller_id=self.phone_number_sid,
            custom_field=self.custom_field,
            raw=raw,
        )


def _detail_legs(details: Details) -> tuple[LegState, ...]:
    statuses = {1: details.leg1_status, 2: details.leg2_status}
    ordered = sorted(details.legs, key=lambda item: item.leg.id or 0)
    if not ordered:
        return tuple(LegState(status=statuses[i]) for i in (1, 2) if statuses[i] is not None)
    return tuple(
        LegState(status=statuses.get(item.leg.id or 0), on_call_duration=item.leg.on_call_duration)
        for item in ordered
    )


class CallEnvelope(_V1):
    call: V1Call


class BulkMetadata(_V1):
    next_page_uri: Text = None
    prev_page_uri: Text = None
    page_size: Count = None
    total: Count = None


class BulkPage(_V1):
    """One page of ``GET /Calls.json``: ``Metadata`` and ``Calls``."""

    metadata: BulkMetadata | None = None
    calls: Annotated[list[dict[str, object]], BeforeValidator(_xml_list("Call"))] = []


class Numbers(_V1):
    """``{"Numbers": {...}}`` of the number metadata endpoint (001)."""

    phone_number: Text = None
    circle: Text = None
    circle_name: Text = None
    number_type: Text = Field(default=None, alias="Type")
    operator: Text = None
    operator_name: Text = None
    dnd: Text = Field(default=None, alias="DND")


class NumbersEnvelope(_V1):
    numbers: Numbers


class CallbackLeg(_V1):
    status: Lower = None
    on_call_duration: Count = None
    answered_by: Lower = None


class V1Callback(_V1):
    """A v1 StatusCallback (003), form or JSON, basic or with ``EventType``."""

    call_sid: Annotated[str, Field(min_length=1)]
    event_type: Lower = None
    status: Lower = None
    recording_url: Text = None
    date_updated: ExoTime = None
    date_created: ExoTime = None
    to: Text = None
    from_: Text = Field(default=None, alias="From")
    phone_number_sid: Text = None
    start_time: ExoTime = None
    end_time: ExoTime = None
    conversation_duration: Count = None
    direction: Text = None
    custom_field: Text = None
    legs: Annotated[list[CallbackLeg], BeforeValidator(_none_to_list)] = []

    def event(self) -> Literal["answered", "terminal", "status"]:
        """``terminal`` when named or absent (the basic four-field callback), ``answered``,
        or ``status`` for an event type the page says may be added in future."""
        if self.event_type in (None, "terminal"):
            return "terminal"
        return "answered" if self.event_type == "answered" else "status"
