"""What an Exotel API version is, as one value: :class:`ApiDescription`.

Everything that differs between API versions (the wire, the options it has, how its calls
are polled, its share of the request budget, how its callbacks read, how its statuses
become outcomes) is a field here, filled in by one module per version
(``v1_version.py``, ``v3_version.py``) and looked up by name in ``registry.py``. The
campaign rules, the compiler, the engine and the report read these fields instead of
comparing the version's name, so a new version is new modules and one registry entry.

Pure: imports the shared vocabulary (``campaigner.domain``) and nothing with I/O, so the
campaign model and the pure core may read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from campaigner.domain import (
    ApiVersion,
    CallObservation,
    CallSpec,
    DialMode,
    ObservationSource,
    Verdict,
)
from campaigner.exotel.wire import WireRequest


class ConnectBuilder(Protocol):
    def __call__(self, spec: CallSpec, *, account_sid: str, base: str) -> WireRequest: ...


class DetailsBuilder(Protocol):
    def __call__(self, call_sid: str, *, account_sid: str, base: str) -> WireRequest: ...


class CallbackParser(Protocol):
    def __call__(
        self, body: bytes, content_type: str, query: str, method: str
    ) -> CallObservation: ...


@dataclass(frozen=True, slots=True)
class ApiWire:
    """What one API version knows: how to ask, where, and how to read the answer."""

    host: Literal["v1_base", "v3_base"]  # the ExotelSettings field naming its host
    connect: ConnectBuilder
    call_details: DetailsBuilder
    parse_call: Callable[[dict[str, object], ObservationSource], CallObservation]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Campaign options a version may lack: each is the version's wire name for it, or
    None when it has no such thing.

    The campaign rules refuse an option the campaign's version lacks, naming the first
    registered version that has it and that version's wire name ("v1 only (CallType)").
    """

    call_type: str | None  # call.call_type
    flow: str | None  # dial.mode: flow
    playback: str  # the field that carries a playback (named when a list is refused)
    playback_list: str | None  # more than one call.playback
    playback_at_end: str | None  # call.playback[].when: end
    callback_method: str | None  # callbacks.method: GET
    state_management: str | None  # dial.agents[].state_management
    sip_agents: str | None  # a sip: agent


@dataclass(frozen=True, slots=True)
class ApiDescription:
    """One Exotel API version: the wire, the options, polling, budget, callbacks, outcomes.

    ``polling``: ``bulk_rounds`` asks for every open call in one bulk request per round
    (v1's bulk call details); ``per_call`` asks each call's details on its own.
    ``dial_share``: the part of the request budget that places calls (the rest polls).
    ``separate_host``: its calls live on a host of their own, which ``health`` probes
    besides the account's v1 host.
    ``records_finish_late``: a terminal record may be unfinished (epoch-zero end time) or
    lack the legs that decide it, so the tracker may wait and ask for the call's details.
    ``priced_records``: its records carry a ``Price``, swept for once each call is over.
    """

    name: ApiVersion
    wire: ApiWire
    capabilities: Capabilities
    polling: Literal["bulk_rounds", "per_call"]
    dial_share: float
    separate_host: bool
    records_finish_late: bool
    priced_records: bool
    parse_callback: CallbackParser
    verdict: Callable[[CallObservation, DialMode], Verdict]
    needs_details: Callable[[CallObservation, DialMode], bool]
