"""Typed readers for v3 answers and callbacks (002), and their CallObservation.

Every v3 answer is an envelope whose ``response`` carries ``call_details`` or
``leg_details``; a callback is ``{event_details, call_details}``. Field names are the
page's; unknown fields are ignored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from campaigner.domain import CallObservation, LegState, ObservationSource
from campaigner.exotel.values import Count, ExoTime, Lower, Text


def _none_to_list(value: object) -> object:
    return [] if value is None or value == "" else value


class _V3(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Recording(_V3):
    url: Text = None


class CallDetails(_V3):
    """``call_details`` of the connect answer, call details, and callbacks."""

    sid: Annotated[str, Field(min_length=1)]
    direction: Text = None  # 002's examples say "outbound" where the list says outbound-api
    virtual_number: Text = None
    state: Lower = None
    status: Lower = None
    created_time: ExoTime = None
    updated_time: ExoTime = None
    start_time: ExoTime = None
    end_time: ExoTime = None
    total_duration: Count = None
    total_talk_time: Count = None
    custom_field: Text = None
    recordings: Annotated[list[Recording], BeforeValidator(_none_to_list)] = []

    def observation(
        self,
        source: ObservationSource,
        raw: dict[str, object],
        event: Literal["answered", "terminal", "status"] = "status",
    ) -> CallObservation:
        """What these details say. 002: ``state`` is ``terminal`` once the call is over and
        processed; ``end_time`` may be the epoch-zero placeholder while ``active``."""
        terminal = event == "terminal" or self.state == "terminal"
        return CallObservation(
            sid=self.sid,
            api="v3",
            source=source,
            event=event,
            terminal=terminal,
            status=self.status,
            record_complete=terminal and self.end_time is not None,
            talk_time=self.total_talk_time,
            duration=self.total_duration,
            recording_url=next((r.url for r in self.recordings if r.url), None),
            created_at=self.created_time,
            started_at=self.start_time,
            ended_at=self.end_time,
            caller_id=self.virtual_number,
            custom_field=self.custom_field,
            state=self.state,
            raw=raw,
        )


class CallResponse(_V3):
    call_details: CallDetails


class Leg(_V3):
    sid: Text = None
    contact_uri: Text = None
    status: Lower = None
    date_updated: ExoTime = None


class LegDetails(_V3):
    """``leg_details`` of ``GET .../calls/<sid>/legs``: ``from`` and ``to`` attempts."""

    call_sid: Text = None
    from_: Annotated[list[Leg], BeforeValidator(_none_to_list)] = Field(default=[], alias="from")
    to: Annotated[list[Leg], BeforeValidator(_none_to_list)] = []

    def leg_states(self) -> tuple[LegState, LegState]:
        """(first leg, second leg). With several attempts per side (a transfer, a retry to
        another device), the side counts as answered if any attempt completed."""
        return _side(self.from_), _side(self.to)


def _side(attempts: list[Leg]) -> LegState:
    statuses = [leg.status for leg in attempts]
    if "completed" in statuses:
        return LegState(status="completed")
    return LegState(status=statuses[-1] if statuses else None)


class LegResponse(_V3):
    leg_details: LegDetails


class EventDetails(_V3):
    event_type: Lower = None


class V3Callback(_V3):
    """A v3 status callback: ``{"event_details": {...}, "call_details": {...}}``."""

    event_details: EventDetails = EventDetails()
    call_details: CallDetails

    def event(self) -> Literal["answered", "terminal", "status"]:
        """The event named, or for a callback without one, what ``state`` implies."""
        kind = self.event_details.event_type
        if kind == "answered":
            return "answered"
        if kind == "terminal" or (kind is None and self.call_details.state == "terminal"):
            return "terminal"
        return "status"
