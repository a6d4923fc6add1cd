"""The campaign file's schema: one place, frozen models, unknown keys are errors.

Field descriptions here are the single source for ``campaigner schema`` (JSON Schema)
and are checked against docs/campaign-format.md by a test. Shapes, types and ranges
are checked here; rules that span fields or depend on the API version live in
``campaigner.campaign.rules`` so that every problem can be located by key path.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from campaigner.campaign.durations import format_duration, parse_duration
from campaigner.domain import ApiVersion, Outcome, RetryOutcome
from campaigner.exotel.registry import DEFAULT_API

DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*(\d+\s*[smhdSMHD]\s*)+$|^\s*\d+\s*$"},
        {"type": "integer", "minimum": 0},
    ],
    "description": "A duration: 30s, 10m, 2h, 1d, 1h30m, or a number of seconds.",
}

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(DURATION_SCHEMA),
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Scalar = str | int | float | bool | None
# A string option that may be a Jinja template rendered per contact (sandboxed, strict).
Templated = Annotated[str, Field(min_length=1, max_length=2000)]


class Strict(BaseModel):
    """Base for every campaign section: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Agent(Strict):
    """An agent leg: a phone number (or a SIP URI on v3 with VoIP)."""

    contact_uri: str = Field(
        description="The agent's number (E.164 preferred; national forms are normalised) "
        "or, on v3 with VoIP enabled, a sip: URI."
    )
    state_management: bool | None = Field(
        default=None,
        description="v3 only (from.state_management): Exotel refuses a call to this agent "
        "while they are on another call (409/10706).",
    )
    name: str | None = Field(default=None, description="A label shown in reports.")


AgentEntry = Annotated[
    Agent | str, Field(description="An agent: a number, or {contact_uri, state_management, name}.")
]


class AgentFirst(Strict):
    """Agent first: From = agent, To = contact; each agent has one call at a time."""

    mode: Literal["agent_first"]
    agents: list[AgentEntry] = Field(
        min_length=1, description="Agents dialed first, each given the next contact in turn."
    )


class ContactFirst(Strict):
    """Contact first: From = contact, To = an agent (one call each) or a fixed number."""

    mode: Literal["contact_first"]
    agents: list[AgentEntry] | None = Field(
        default=None,
        description="Agents connected after the contact answers, one call at a time each.",
    )
    connect_to: str | None = Field(
        default=None,
        description="A fixed number connected after the contact answers (a hunt line, "
        "another ExoPhone); no per-agent limit applies.",
    )


class Flow(Strict):
    """Flow: From = contact, connected to an Exotel flow (IVR) by app id; v1 only."""

    mode: Literal["flow"]
    app_id: str = Field(
        pattern=r"^[0-9]+$",
        description="The flow's app id from the Exotel dashboard (v1 Url=http://my.exotel.com"
        "/<sid>/exoml/start_voice/<app_id>).",
    )


Dial = Annotated[AgentFirst | ContactFirst | Flow, Field(discriminator="mode")]


class Contacts(Strict):
    """Who to call: an inline list or a CSV file (exactly one)."""

    file: str | None = Field(
        default=None,
        description="CSV file, relative to the campaign file. The header row names the "
        "columns; every column other than the phone column becomes a contact variable.",
    )
    inline: list[dict[str, Scalar] | str] | None = Field(
        default=None,
        description="Contacts written in the campaign file: numbers, or mappings with a "
        "phone key plus variables.",
    )
    phone_column: str = Field(default="phone", description="The column (or key) holding numbers.")
    default_region: str = Field(
        default="IN",
        pattern=r"^[A-Z]{2}$",
        description="Region for numbers written without a country code (ISO 3166 alpha-2).",
    )
    on_invalid: Literal["error", "skip"] = Field(
        default="error",
        description="error: an invalid number rejects the campaign (validate fails); skip: "
        "it is reported as a warning and recorded as skipped (invalid) by the run.",
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="CSV delimiter.")
    encoding: str = Field(default="utf-8", description="CSV text encoding.")


class Recording(Strict):
    """Call recording (v1 Record/RecordingChannels/RecordingFormat; v3 recording)."""

    record: bool = Field(default=False, description="Record the conversation.")
    channels: Literal["single", "dual"] | None = Field(
        default=None, description="single: both legs in one channel; dual: one channel each."
    )
    format: Literal["mp3", "mp3-hq"] | None = Field(
        default=None, description="mp3 (standard) or mp3-hq (32 kbps/channel; enabled on request)."
    )


class PlaybackOption(Strict):
    """Audio played as the call connects (v1 StartPlayback*; v3 playback)."""

    url: Templated = Field(description="Audio URL (template allowed).")
    to: Literal["callee", "both"] = Field(default="callee", description="Who hears it.")
    when: Literal["start", "end"] = Field(
        default="start", description="start (v1 and v3) or end (v3 only)."
    )


class Streaming(Strict):
    """Live audio streaming to a WebSocket (v1 StreamUrl/StreamBegin; v3 streaming)."""

    url: Templated = Field(description="A ws:// or wss:// URL (template allowed).")
    begin: Literal["from_leg_connect", "to_leg_connect"] = Field(
        default="from_leg_connect",
        description="Start when the first leg connects, or when both have (v1 Leg1Connect/"
        "Leg2Connect).",
    )


class CallOptions(Strict):
    """Options of every connect request. String options may be Jinja templates."""

    call_type: Literal["trans"] | None = Field(
        default=None, description="v1 only (CallType): trans for transactional calls."
    )
    time_limit: int | None = Field(
        default=None,
        ge=1,
        le=14400,
        description="Longest call in seconds (v1 TimeLimit, v3 max_time_limit; at most 14400).",
    )
    ring_timeout: int | None = Field(
        default=None,
        ge=1,
        le=600,
        description="Seconds to ring each leg (v1 TimeOut, v3 attempt_time_out).",
    )
    wait_audio_url: Templated | None = Field(
        default=None,
        description="wav played to the first leg while the second rings (v1 WaitUrl, v3 "
        "wait_audio_url). Template allowed.",
    )
    recording: Recording | None = Field(default=None, description="Recording options.")
    playback: list[PlaybackOption] | PlaybackOption | None = Field(
        default=None, description="Playback before the call connects (v3: a list; v1: one start)."
    )
    streaming: Streaming | None = Field(default=None, description="Live audio streaming.")
    custom_field: Templated | None = Field(
        default=None,
        description="Echoed back in callbacks (v1 CustomField, v3 custom_field); at most 128 "
        "characters once rendered. Template allowed, e.g. '{{ order_id }}'.",
    )


class Window(Strict):
    """A daily calling window on some weekdays, in the schedule's timezone."""

    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS), min_length=1, description="Weekdays (mon..sun)."
    )
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, inclusive.")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", description="HH:MM, exclusive.")

    @property
    def start_time(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def end_minutes(self) -> int:
        hours, minutes = self.end.split(":")
        return int(hours) * 60 + int(minutes)

    @property
    def start_minutes(self) -> int:
        hours, minutes = self.start.split(":")
        return int(hours) * 60 + int(minutes)


def _default_windows() -> list[Window]:
    return [Window(start="09:00", end="21:00")]


class Schedule(Strict):
    """When calls may be placed. Without windows, every day 09:00-21:00 applies."""

    timezone: str = Field(default="Asia/Kolkata", description="IANA timezone of the windows.")
    windows: list[Window] = Field(
        default_factory=_default_windows,
        min_length=1,
        description="Calling windows; a call (and every retry) starts only inside one.",
    )
    skip_dates: list[str] = Field(
        default_factory=list, description="Dates (YYYY-MM-DD) with no calls, e.g. holidays."
    )
    not_before: datetime | None = Field(
        default=None, description="No call before this instant (naive means schedule timezone)."
    )
    deadline: datetime | None = Field(
        default=None,
        description="The run stops here; contacts without a final outcome become expired.",
    )


class Pacing(Strict):
    """How fast the run may spend the account's API budget."""

    requests_per_minute: int = Field(
        default=180,
        ge=1,
        le=200,
        description="This run's share of the account's 200 requests/minute, counting every "
        "request (dials, polls, lookups).",
    )
    max_concurrent_calls: int = Field(
        default=10, ge=1, le=1000, description="Calls in flight at once, across all agents."
    )


EventName = Literal["terminal", "answered"]


def _default_retry_on() -> list[RetryOutcome]:
    return ["busy", "no_answer"]


def _default_events() -> list[EventName]:
    return ["terminal"]


class Backoff(Strict):
    """Delay before attempt n+1: first * factor**(n-1), capped at max."""

    first: Duration = Field(default=timedelta(minutes=10), description="Delay before attempt 2.")
    factor: float = Field(default=2.0, ge=1.0, le=10.0, description="Growth per attempt.")
    max: Duration = Field(default=timedelta(hours=2), description="Longest delay.")


class Retry(Strict):
    """Which outcomes earn another attempt, how many and when."""

    max_attempts: int = Field(default=1, ge=1, le=10, description="Calls per contact at most.")
    on: list[RetryOutcome] = Field(
        default_factory=_default_retry_on,
        description="Outcomes that earn another attempt.",
    )
    backoff: Backoff = Field(default_factory=Backoff, description="Delay between attempts.")
    agent_failures: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Agent-side failures (agent_unanswered, agent busy) that re-queue a "
        "contact without spending its attempts; beyond this they count as attempts.",
    )

    def outcomes(self) -> frozenset[Outcome]:
        return frozenset(Outcome(o) for o in self.on)


class FrequencyCap(Strict):
    """At most ``calls`` calls to one number per ``per``, across campaigns sharing state."""

    calls: int = Field(ge=1, le=100, description="Calls allowed per period.")
    per: Duration = Field(description="The rolling period, e.g. 24h.")


class Screening(Strict):
    """Who must not be called."""

    dnd: Literal["skip", "call", "only_transactional"] = Field(
        default="skip",
        description="Numbers on India's DND registry (v1 number metadata): skip them, call "
        "anyway, or call only when call_type is trans.",
    )
    dedupe: bool = Field(
        default=True,
        description="Merge contacts with the same number (first row wins; later rows are "
        "reported). false makes duplicates a validation error.",
    )
    opt_out: list[str] = Field(
        default_factory=list,
        description="Files of numbers never to call (one per line, or a CSV with a phone "
        "column), relative to the campaign file.",
    )
    frequency_cap: FrequencyCap | None = Field(
        default=None, description="Calls per number per period across campaigns."
    )
    min_gap: Duration | None = Field(
        default=None, description="Least time between two calls to the same number."
    )


class Callbacks(Strict):
    """Where Exotel reports call status (the fast path; polling is the safety net)."""

    listen: str = Field(
        default="127.0.0.1:8080",
        pattern=r"^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$",
        description="host:port the receiver binds.",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="The URL Exotel can reach that leads to listen (reverse proxy or tunnel). "
        "Without it the run tracks calls by polling only.",
    )
    events: list[EventName] = Field(
        default_factory=_default_events,
        min_length=1,
        description="Events to subscribe to; terminal is always needed.",
    )
    content_type: Literal["application/json", "multipart/form-data"] = Field(
        default="application/json", description="How Exotel encodes callbacks."
    )
    method: Literal["POST", "GET"] = Field(
        default="POST", description="v3 only: the callback's HTTP method."
    )


class Tracking(Strict):
    """When to poll calls whose callbacks have not arrived."""

    poll_after: Duration = Field(
        default=timedelta(minutes=2), description="Poll a call with no terminal event after this."
    )
    poll_interval: Duration = Field(
        default=timedelta(minutes=1), description="Time between polls of the same call."
    )
    give_up_after: Duration = Field(
        default=timedelta(hours=6), description="A call still unresolved then becomes unknown."
    )


class CircuitBreaker(Strict):
    """Pause dialing when too many recent calls failed."""

    window: int = Field(default=20, ge=5, le=1000, description="The last N finished calls.")
    failed_ratio: float = Field(
        default=0.5, gt=0.0, le=1.0, description="Pause when more than this share failed."
    )


class Health(Strict):
    """ExoPhone health and safety stops."""

    failover: bool = Field(
        default=False,
        description="When a caller ID's outgoing connectivity is down, use the alternate "
        "ExoPhone Exotel names for it.",
    )
    circuit_breaker: CircuitBreaker | None = Field(
        default_factory=CircuitBreaker, description="Failure circuit breaker; null disables it."
    )


class CallerId(Strict):
    """An ExoPhone used as caller ID."""

    number: str = Field(description="The ExoPhone number (E.164 or national).")
    sid: str | None = Field(
        default=None,
        description="Its ExoPhone SID (heartbeats and v2 details use it); defaults to the "
        "national form of the number, which is what Exotel uses for Indian ExoPhones.",
    )


class Campaign(Strict):
    """A campaign file."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Identifies the campaign and names its journal; letters, digits, . _ -.",
    )
    description: str | None = Field(default=None, description="Free text for reports.")
    api: ApiVersion = Field(  # the registry's versions (tests/exotel/test_registry.py)
        default=DEFAULT_API,
        description="Exotel API: v1 Calls/connect (form) or v3 calls (JSON).",
    )
    caller_ids: list[CallerId | str] = Field(
        min_length=1, description="ExoPhones used as caller ID, in rotation."
    )
    dial: Dial = Field(description="Who is dialed first and what they are connected to.")
    contacts: Contacts = Field(description="Who to call.")
    call: CallOptions = Field(default_factory=CallOptions, description="Per-call options.")
    schedule: Schedule = Field(default_factory=Schedule, description="When calls may be placed.")
    pacing: Pacing = Field(default_factory=Pacing, description="API budget and concurrency.")
    retry: Retry = Field(default_factory=Retry, description="Retry policy.")
    screening: Screening = Field(default_factory=Screening, description="Who must not be called.")
    callbacks: Callbacks = Field(default_factory=Callbacks, description="Status callbacks.")
    tracking: Tracking = Field(default_factory=Tracking, description="Polling.")
    health: Health = Field(default_factory=Health, description="ExoPhone health and safety stops.")
    state: str = Field(
        default=".campaigner",
        description="Directory (relative to the campaign file) holding the run journal "
        "<name>.sqlite3 and the state shared across campaigns.",
    )
    report: str | None = Field(
        default=None,
        description="Where the HTML report goes (relative to the campaign file); default "
        "reports/<name>.html.",
    )
    paused: bool = Field(
        default=False,
        description="true: nobody is dialed (campaigner serve stops the campaign at a safe "
        "point and journals the pause; campaigner run refuses); false resumes it.",
    )

    @field_validator("caller_ids")
    @classmethod
    def _caller_ids_unique(cls, value: list[CallerId | str]) -> list[CallerId | str]:
        numbers = [v if isinstance(v, str) else v.number for v in value]
        if len(set(numbers)) != len(numbers):
            raise ValueError("caller IDs must be distinct")
        return value

    def agents(self) -> list[Agent]:
        """The dial section's agents as full Agent objects (empty for flow/fixed number)."""
        entries = getattr(self.dial, "agents", None) or []
        return [Agent(contact_uri=e) if isinstance(e, str) else e for e in entries]

    def caller_id_list(self) -> list[CallerId]:
        return [CallerId(number=c) if isinstance(c, str) else c for c in self.caller_ids]

    def playbacks(self) -> list[PlaybackOption]:
        pb = self.call.playback
        if pb is None:
            return []
        return pb if isinstance(pb, list) else [pb]
