"""What a campaign will cost and how long it will take, before anything dials. Pure.

The estimate is deliberately simple and stated with its assumptions: dials happen
at the slowest of three paces (the API budget, the concurrency limit, the agents),
each call occupies its slot and agent for ``call_minutes``, and calling time only
counts inside the windows. DND lookups spend the same budget as dials, once per
number the shared cache does not know, so they slow the budget's pace in proportion.
What the state directory and the opt-out files say (:class:`ScreeningFacts`) is read
by the caller and passed in. ``plan`` prints it; the report later shows the truth.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from campaigner.campaign.durations import format_duration
from campaigner.campaign.resolved import Contact, LoadedCampaign, ResolvedAgent
from campaigner.compile.calls import callback_url, compile_call
from campaigner.domain import CallSpec
from campaigner.exotel.registry import api_version
from campaigner.schedule import CallingSchedule

TOKEN_PLACEHOLDER = "<token>"


@dataclass(frozen=True, slots=True)
class Pace:
    """Calls per minute allowed by each limit, and the one that binds."""

    budget: float
    concurrency: float
    agents: float | None

    @property
    def calls_per_minute(self) -> float:
        return min(x for x in (self.budget, self.concurrency, self.agents) if x is not None)

    @property
    def bottleneck(self) -> str:
        pace = self.calls_per_minute
        if pace == self.budget:
            return "API budget"
        return "agents" if self.agents is not None and pace == self.agents else "concurrency"


@dataclass(frozen=True, slots=True)
class ScreeningFacts:
    """What the shared state and opt-out files say about the contacts, counted by ``plan``."""

    known_dnd: int = 0  # contacts the cache knows are on the DND registry
    known_clear: int = 0  # contacts the cache knows are not (or "Unavailable")
    lookups: int = 0  # contacts needing a lookup (Indian, not cached, not opted out)
    opted_out: int = 0
    held_back: int = 0  # contacts the frequency cap / minimum gap holds back right now


@dataclass(frozen=True, slots=True)
class ScreeningPlan:
    """Screening as ``plan`` shows it."""

    dnd: str  # the policy
    known_dnd: int
    dnd_skipped: int  # of known_dnd, those the policy skips
    lookups: int  # extra requests the run spends on DND lookups
    opted_out: int
    frequency_cap: str | None  # "2 calls per 1d"
    min_gap: str | None
    held_back: int


@dataclass(frozen=True, slots=True)
class StateDiff:
    """The file against the journal, as Terraform's plan is against its state.

    Counted by ``plan`` from the journal (read-only) and the file: what is done, what
    is left, and what the file's edits will do when ``run`` resumes.
    """

    journal: str
    last_run: str | None  # how the last run ended (complete, deadline, interrupted ...)
    done: dict[str, int]  # contacts of the file already final, by outcome
    left: int  # contacts of the file still to call (new, waiting, or in a call)
    in_flight: int  # of ``left``, contacts in a call right now (or when a run stopped)
    new: int  # contacts in the file the journal does not know: will be dialed
    removed: int  # contacts waiting in the journal, no longer in the file: not dialed
    file_changed: bool  # the file's bytes differ from the last run's
    changed: tuple[str, ...]  # top-level settings that differ (apply to new calls only)


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything ``campaigner plan`` reports."""

    name: str
    api: str
    mode: str
    timezone: str
    contacts: int
    invalid: int
    duplicates: int
    caller_ids: tuple[str, ...]
    agents: tuple[str, ...]
    requests_per_minute: int
    max_concurrent_calls: int
    max_attempts: int
    pace: Pace
    first_attempt_minutes: float
    worst_case_minutes: float
    dials_first: int
    dials_worst: int
    starts: datetime | None
    finishes: datetime | None
    worst_finishes: datetime | None
    deadline: datetime | None
    fits_deadline: bool | None
    callback_url: str | None
    screening: ScreeningPlan | None = None
    state: StateDiff | None = None  # None: the campaign has never run


def build_plan(
    loaded: LoadedCampaign,
    now: datetime,
    call_minutes: float = 1.5,
    facts: ScreeningFacts | None = None,
    state: StateDiff | None = None,
) -> Plan:
    """Plan ``loaded`` as if started at ``now``; each call lasting ``call_minutes``.

    With ``state`` (the campaign has a journal) only the contacts left are planned.
    """
    c = loaded.campaign
    screening = screening_plan(loaded, facts or ScreeningFacts())
    agents = len(loaded.agents) or None
    if state is not None:
        first = state.left
    else:
        first = max(loaded.contact_count - screening.opted_out - screening.dnd_skipped, 0)
    # Lookups come before first attempts and take their share of the budget.
    dial_share = first / (first + screening.lookups) if first else 1.0
    pace = Pace(
        budget=c.pacing.requests_per_minute * api_version(c.api).dial_share * dial_share,
        concurrency=c.pacing.max_concurrent_calls / call_minutes,
        agents=agents / call_minutes if agents else None,
    )
    worst = first * c.retry.max_attempts
    cal = CallingSchedule(c.schedule)
    now = now.astimezone(cal.tz)
    starts = cal.next_open(now)
    first_minutes = first / pace.calls_per_minute if first else 0.0
    worst_minutes = worst / pace.calls_per_minute if worst else 0.0
    finishes = cal.advance(now, first_minutes * 60) if first else starts
    worst_finishes = cal.advance(now, worst_minutes * 60) if worst else starts
    public = c.callbacks.public_url
    return Plan(
        name=c.name,
        api=c.api,
        mode=c.dial.mode,
        timezone=c.schedule.timezone,
        contacts=first,
        invalid=loaded.invalid_count,
        duplicates=loaded.duplicates,
        caller_ids=tuple(x.number for x in loaded.caller_ids),
        agents=tuple(a.uri for a in loaded.agents),
        requests_per_minute=c.pacing.requests_per_minute,
        max_concurrent_calls=c.pacing.max_concurrent_calls,
        max_attempts=c.retry.max_attempts,
        pace=pace,
        first_attempt_minutes=first_minutes,
        worst_case_minutes=worst_minutes,
        dials_first=first,
        dials_worst=worst,
        starts=starts,
        finishes=finishes,
        worst_finishes=worst_finishes,
        deadline=cal.deadline,
        fits_deadline=None if cal.deadline is None else finishes is not None,
        callback_url=callback_url(public, TOKEN_PLACEHOLDER, c.api) if public else None,
        screening=screening,
        state=state,
    )


def screening_plan(loaded: LoadedCampaign, facts: ScreeningFacts) -> ScreeningPlan:
    """The campaign's screening rules with what is already known about its contacts."""
    s = loaded.campaign.screening
    skips_dnd = s.dnd == "skip" or (
        s.dnd == "only_transactional" and loaded.campaign.call.call_type != "trans"
    )
    cap = s.frequency_cap
    return ScreeningPlan(
        dnd=s.dnd,
        known_dnd=facts.known_dnd,
        dnd_skipped=facts.known_dnd if skips_dnd else 0,
        lookups=facts.lookups if s.dnd != "call" else 0,
        opted_out=facts.opted_out,
        frequency_cap=f"{cap.calls} calls per {format_duration(cap.per)}" if cap else None,
        min_gap=format_duration(s.min_gap) if s.min_gap else None,
        held_back=facts.held_back,
    )


def first_calls(loaded: LoadedCampaign, count: int) -> Iterator[tuple[Contact, CallSpec]]:
    """The first ``count`` calls, with caller IDs and agents in the engine's rotation order."""
    c = loaded.campaign
    public = c.callbacks.public_url
    status = callback_url(public, TOKEN_PLACEHOLDER, c.api) if public else None
    agents: tuple[ResolvedAgent, ...] = loaded.agents
    for i, contact in enumerate(loaded.iter_contacts()):
        if i >= count:
            return
        yield (
            contact,
            compile_call(
                loaded,
                contact,
                attempt=1,
                caller_id=loaded.caller_ids[i % len(loaded.caller_ids)].number,
                agent=agents[i % len(agents)] if agents else None,
                status_callback=status,
            ),
        )


def minutes_text(minutes: float) -> str:
    """``95.5`` -> ``"1 h 36 min"``; used by plan and run messages."""
    if minutes < 1:
        return f"{math.ceil(minutes * 60)} s"
    hours, mins = divmod(math.ceil(minutes), 60)
    return f"{hours} h {mins} min" if hours else f"{mins} min"
