"""The scenario: everything about the simulated Exotel account, in one validated model.

A scenario is what a YAML file (docs/simulator.md) or a test describes: the account and
its credentials, the rate limit, ExoPhones and their health, agents, per-number
behaviour, the outcome mix, timing ranges, faults, the heartbeat and its scripted
timeline, the seed and the time scale. Unknown keys are errors (``extra="forbid"``): a
typo must not silently turn a fault off.

Times are *simulated* seconds (divided by ``time_scale`` on trio's clock), except
``rate_limit.window`` and ``faults.ambiguous_hold``, which are real seconds so that a
client pacing itself at 200/min is judged as Exotel would judge it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaigner.simulator.phones import national, to_e164

Kind = Literal["completed", "busy", "no_answer", "failed", "agent_unanswered", "agent_hangup"]
KINDS: tuple[Kind, ...] = (
    "completed",
    "busy",
    "no_answer",
    "failed",
    "agent_unanswered",
    "agent_hangup",
)
Health = Literal["active", "major_outage", "partial_network_outage"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _e164(value: str) -> str:
    e164 = to_e164(value)
    if e164 is None:
        raise ValueError(f"not a valid phone number: {value!r} (quote phone numbers in YAML)")
    return e164


Range = tuple[float, float]


def _check_range(value: Range) -> Range:
    low, high = value
    if low < 0 or high < low:
        raise ValueError("a range is [low, high] with 0 <= low <= high")
    return value


class Account(_Model):
    """The one account the simulator serves; requests must carry these credentials."""

    sid: str = "sandbox"
    api_key: str = "sandbox-key"
    api_token: str = "sandbox-token"

    def __repr__(self) -> str:  # credentials never appear in reprs
        return f"Account(sid={self.sid!r})"


class RateLimit(_Model):
    """Per-account budget over a rolling window (docs/exotel/basics.md: 200 requests/minute)."""

    requests: int = Field(200, ge=1)
    window: float = Field(60.0, gt=0)  # real seconds, never scaled
    exophone_details: int = Field(10, ge=1)  # v2 ExoPhone details: its own small budget


class ExoPhone(_Model):
    """A virtual number of the account, its connectivity and its alternates."""

    number: str
    sid: str = ""  # defaults to the national form, as Exotel's own SIDs look ("01139585476")
    incoming: Health = "active"
    outgoing: Health = "active"
    alternates: tuple[str, ...] = ()  # SIDs of other ExoPhones to use instead

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        return _e164(value)

    @model_validator(mode="after")
    def _default_sid(self) -> ExoPhone:
        if not self.sid:
            object.__setattr__(self, "sid", national(self.number))
        return self


Device = Literal["ok", "off", "unavailable", "unverified", "unknown_user", "no_device", "not_found"]


class Agent(_Model):
    """An agent (user) number: listed agents get state management by default (v3 page)."""

    busy: bool = False  # always busy: 409/10706 under state_management, else a busy leg
    # Their device as v3's user checks see it: anything but "ok" refuses a v3 call with
    # the agent on `from` (404/10703, 409/1012, 409/10705, 404/10731, 404/10806, 404/10702).
    device: Device = "ok"


class NumberBehaviour(_Model):
    """How one number behaves on whichever leg it is dialed, and its metadata."""

    outcome: Kind | None = None
    dnd: bool | Literal["unavailable"] = False
    circle: str | None = None
    operator: str | None = None
    type: Literal["Mobile", "Landline"] | None = None


class Timing(_Model):
    """Ranges (simulated seconds) that call timelines are drawn from, uniformly."""

    queue: Range = (0.0, 2.0)  # queued before the first leg rings
    ring: Range = (3.0, 15.0)  # ring time of a leg that answers
    no_answer_ring: Range = (30.0, 45.0)  # ring time of a leg that never answers
    busy_after: Range = (2.0, 6.0)
    failed_after: Range = (1.0, 4.0)
    talk: Range = (20.0, 180.0)
    hangup_after: Range = (2.0, 10.0)  # first leg hangs up this long into the second's ring
    record_finalize_delay: float = Field(120.0, ge=0)

    _ranges = field_validator(
        "queue", "ring", "no_answer_ring", "busy_after", "failed_after", "talk", "hangup_after"
    )(_check_range)


class Burst(_Model):
    """Every request gets 429 for ``duration`` seconds starting at ``at``."""

    at: float = Field(ge=0)
    duration: float = Field(gt=0)


class Faults(_Model):
    """Seeded misbehaviour; probabilities are per request or per callback delivery."""

    callback_drop: float = Field(0.0, ge=0, le=1)
    callback_duplicate: float = Field(0.0, ge=0, le=1)
    callback_delay: float = Field(0.0, ge=0, le=1)
    callback_delay_range: Range = (5.0, 60.0)
    callback_reorder: float = Field(0.0, ge=0, le=1)  # stale `answered` after `terminal`
    early_callback: float = Field(0.0, ge=0, le=1)  # callbacks before the POST's answer
    connect_ambiguous: float = Field(0.0, ge=0, le=1)  # call created, answer lost
    connect_5xx: float = Field(0.0, ge=0, le=1)
    connect_5xx_created: float = Field(0.5, ge=0, le=1)  # share of those 5xx that create it
    connect_proxy_timeout: float = Field(0.0, ge=0, le=1)  # call created, a proxy's 408/499
    get_5xx: float = Field(0.0, ge=0, le=1)
    plain_401: float = Field(0.0, ge=0, le=1)  # a 401 body that is not JSON
    plain_429: float = Field(0.0, ge=0, le=1)  # a 429 body that is not JSON
    bursts: tuple[Burst, ...] = ()
    ambiguous_hold: float = Field(30.0, ge=0)  # real seconds the server holds a lost answer
    pending_status: Literal["completed", "final"] = "completed"

    _delay = field_validator("callback_delay_range")(_check_range)


class HealthChange(_Model):
    """A scripted change of one ExoPhone's connectivity at a simulated time."""

    at: float = Field(ge=0)
    exophone: str  # its SID
    incoming: Health | None = None
    outgoing: Health | None = None


class Heartbeat(_Model):
    """Where and how often the heartbeat webhook is POSTed, and the health timeline."""

    url: str | None = None
    interval: float = Field(60.0, gt=0)
    payload_too_large: bool = False
    timeline: tuple[HealthChange, ...] = ()


class Callbacks(_Model):
    """Delivery of status callbacks: retries with doubling backoff, as Exotel does."""

    retries: int = Field(3, ge=0)
    backoff: float = Field(5.0, gt=0)  # simulated seconds before the first retry
    timeout: float = Field(15.0, gt=0)  # real seconds to wait for the receiver
    workers: int = Field(16, ge=1, le=256)


def _default_exophones() -> tuple[ExoPhone, ...]:
    return (
        ExoPhone(number="+912241499102", alternates=("08047091234",)),
        ExoPhone(number="+918047091234", alternates=("02241499102",)),
        ExoPhone(number="+911139585476"),
    )


DEFAULT_MIX: dict[Kind, float] = {
    "completed": 0.55,
    "busy": 0.1,
    "no_answer": 0.2,
    "failed": 0.05,
    "agent_unanswered": 0.06,
    "agent_hangup": 0.04,
}


class Scenario(_Model):
    """A whole simulated account; ``Scenario()`` is the sandbox default (no faults)."""

    seed: int = 1
    time_scale: float = Field(1.0, gt=0)
    account: Account = Account()
    rate_limit: RateLimit = RateLimit()
    exophones: tuple[ExoPhone, ...] = Field(default_factory=_default_exophones, min_length=1)
    agents: dict[str, Agent] = {}
    numbers: dict[str, NumberBehaviour] = {}
    outcome_mix: dict[Kind, float] = Field(default_factory=lambda: dict(DEFAULT_MIX))
    dnd_fraction: float = Field(0.0, ge=0, le=1)  # unconfigured numbers on the NDNC registry
    timing: Timing = Timing()
    callbacks: Callbacks = Callbacks()
    faults: Faults = Faults()
    heartbeat: Heartbeat = Heartbeat()

    @field_validator("agents", "numbers", mode="before")
    @classmethod
    def _keys_e164(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        return {_e164(str(key)) if isinstance(key, str) else key: v for key, v in value.items()}

    @field_validator("outcome_mix")
    @classmethod
    def _mix(cls, value: dict[Kind, float]) -> dict[Kind, float]:
        if any(weight < 0 for weight in value.values()) or sum(value.values()) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        return value

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        sids = [phone.sid for phone in self.exophones]
        if len(set(sids)) != len(sids):
            raise ValueError("exophones: two ExoPhones share a sid")
        for phone in self.exophones:
            for alt in phone.alternates:
                if alt not in sids:
                    raise ValueError(f"exophones: alternate {alt!r} of {phone.sid} is unknown")
        for change in self.heartbeat.timeline:
            if change.exophone not in sids:
                raise ValueError(f"heartbeat.timeline: unknown exophone {change.exophone!r}")
        return self
