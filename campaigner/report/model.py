"""The report's summary model: the stable, typed context every report template gets.

A custom template (``campaigner report FILE --template T``) sees exactly these
classes, so they are a public interface: fields are only ever added, never renamed
or removed, and ``SUMMARY_VERSION`` goes up when one is added. docs/reports.md
lists every field with how it is derived.

Everything here is plain data built by :func:`campaigner.report.summary.
build_summary` from the journal: no I/O, no database handles; frozen, except the
contact lines (see below). Times are timezone-aware datetimes in the campaign's own
timezone (ISO 8601 text in the JSON format). Shares are fractions in 0..1
(templates format them as percentages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SUMMARY_VERSION = 2  # 2: spend, by_hour, not_connected, agent_use, errors.network,
# run events' count and last_at (repeats collapsed)


@dataclass(frozen=True, slots=True)
class Count:
    """One category and how many: ``share`` is ``count`` over the section's total."""

    key: str
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One ``campaigner run`` of this campaign (a resumed campaign has several)."""

    number: int
    started_at: datetime
    ended_at: datetime | None  # None: still running, or killed
    exit_reason: str | None  # complete | deadline | interrupted | failed | None
    version: str
    sandbox: bool
    sha256: str


@dataclass(frozen=True, slots=True)
class Header:
    """Which campaign, which file, which tool, when, and against which account."""

    campaign: str
    description: str | None
    api: str  # v1 | v3
    mode: str  # agent_first | contact_first | flow
    file: str | None
    sha256: str | None
    git_commit: str | None  # last commit touching the file, when it is in a git repository
    git_dirty: bool | None  # the file differs from that commit
    tool_versions: tuple[str, ...]  # campaigner versions that ran it
    report_version: str  # the campaigner version that made this report
    account_sid: str | None  # masked unless --no-mask
    timezone: str
    first_activity: datetime | None
    last_activity: datetime | None
    generated_at: datetime  # the real (wall) clock, also in sandbox runs
    runs: tuple[RunInfo, ...]
    in_progress: bool  # a run is live (or was killed) or contacts are not final yet
    sandbox: bool  # every run was against the simulator


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One step of the funnel; ``share`` is of all contacts (file rows)."""

    key: str  # contacts | skipped | dialed | answered | connected
    label: str
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class Funnel:
    """contacts -> skipped (why) -> dialed -> answered -> connected, counted in contacts."""

    total: int
    skipped: int
    skipped_reasons: tuple[Count, ...]
    dialed: int
    answered: int
    answered_by: str  # "agent" (agent_first) or "contact" (contact_first, flow)
    connected: int
    not_dialed: int  # neither skipped nor dialed (yet): pending, expired before a call
    steps: tuple[FunnelStep, ...]


@dataclass(frozen=True, slots=True)
class AttemptOutcomes:
    """Outcomes of every call with this attempt number (1 = first call to a contact)."""

    attempt: int
    total: int
    counts: tuple[Count, ...]


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Contacts by outcome (``pending``/``in_call`` while a run is live) and calls by attempt."""

    total: int
    contacts: tuple[Count, ...]
    by_attempt: tuple[AttemptOutcomes, ...]


@dataclass(frozen=True, slots=True)
class Retries:
    """Later calls to a contact: ``scheduled`` = ``done`` + ``waiting`` + ``abandoned``."""

    scheduled: int
    done: int  # calls placed with attempt number >= 2
    waiting: int  # contacts called before and waiting for their next call
    abandoned: int  # contacts called before that ended expired or skipped before the next


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """Calls placed (by intent time) in [start, start + bucket), by their outcome."""

    start: datetime
    total: int
    counts: tuple[Count, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    """Calls over time; the bucket is 10 minutes for runs up to 12 hours, else an hour."""

    bucket_seconds: int
    buckets: tuple[TimeBucket, ...]
    outcomes: tuple[str, ...]  # keys present, in stacking order
    peak: int


@dataclass(frozen=True, slots=True)
class MinuteCount:
    """API requests that left in the minute starting at ``start``."""

    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """Every API request of every run, per minute, against the run's budget."""

    total: int
    budget_per_minute: int
    minutes: tuple[MinuteCount, ...]  # every minute from the first request to the last
    peak_per_minute: int
    peak_share: float  # peak over budget
    mean_per_active_minute: float
    by_purpose: tuple[Count, ...]  # connect | poll | reconcile | lookup | health
    rate_limited: int  # answers with HTTP 429


@dataclass(frozen=True, slots=True)
class HourRate:
    """Calls placed in one hour of the local day (all days together), per call."""

    hour: int  # 0..23, the campaign's timezone
    calls: int
    connected: int
    connect_rate: float  # connected / calls: per call, not per contact


@dataclass(frozen=True, slots=True)
class Spend:
    """What Exotel charged: the sum of the calls' ``Price`` as Exotel's records give it.

    Only v1 call records carry a ``Price`` (a decimal in the account's billing
    currency, which the record does not name); a call whose record never showed a
    price (callbacks carry none; v3 has none) is counted in ``calls_unpriced``.
    """

    total: str | None  # exact decimal text ("12.500"); None when no call had a price
    currency: str | None  # as Exotel gives it; None: the records name none
    calls_priced: int
    calls_unpriced: int  # placed calls whose price is unknown
    per_connected: str | None  # total / connected calls, 3 decimals; None unless all priced


@dataclass(frozen=True, slots=True)
class NotConnected:
    """Why placed or attempted calls did not connect, per call, by whose side failed.

    ``agent``: the agent did not answer or was busy (409); ``contact``: the contact was
    busy, did not answer, or the call failed on their side; ``exotel_refused``: Exotel
    answered the connect with an error and created no call; ``network``: Exotel was not
    reached or its answer was lost and no call was found (status 0, not a refusal);
    ``unknown``: the outcome was never learnt.
    """

    total: int
    reasons: tuple[Count, ...]  # agent | contact | exotel_refused | network | unknown


@dataclass(frozen=True, slots=True)
class AgentUse:
    """How busy an agent was: talk time over the time the campaign was running."""

    key: str  # agent number, masked unless --no-mask
    label: str | None
    handled: int  # connected calls
    talk_seconds: int
    campaign_seconds: int  # time runs were running (all runs), the same for every agent
    utilisation: float  # talk_seconds / campaign_seconds (0 when nothing ran)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Calls grouped by caller ID or by agent."""

    key: str  # the caller ID or agent number (agent numbers masked unless --no-mask)
    label: str | None  # the agent's name from the campaign file
    calls: int  # calls placed
    connected: int
    connect_rate: float
    talk_median: float | None  # seconds, connected calls
    talk_p90: float | None
    agent_misses: int  # calls ending agent_unanswered
    agent_busy: int  # calls Exotel refused because the agent was busy (409)


@dataclass(frozen=True, slots=True)
class Bin:
    """A histogram bin [lower, upper) in seconds; ``upper`` None is open-ended."""

    label: str
    lower: int
    upper: int | None
    count: int


@dataclass(frozen=True, slots=True)
class TalkTime:
    """Talk time of connected calls whose record Exotel finalised."""

    calls: int
    total_seconds: int
    median: float | None
    p90: float | None
    mean: float | None
    bins: tuple[Bin, ...]


@dataclass(frozen=True, slots=True)
class ApiError:
    """Requests answered with an error (or not answered: status 0), grouped."""

    purpose: str
    status: int
    code: str | None
    count: int


@dataclass(frozen=True, slots=True)
class RefusedCall:
    """Connect requests Exotel refused (no call was created), grouped by status and code."""

    status: int
    code: str | None
    message: str  # the first message seen (numbers in it masked unless --no-mask)
    count: int


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """Connect POSTs whose answer was lost, and how reconciliation settled them."""

    total: int
    adopted: int  # the call existed and was followed as ours
    proven_absent: int  # no call existed; the contact was dialed again
    unresolved: int  # still being reconciled


@dataclass(frozen=True, slots=True)
class Errors:
    """API errors, refused calls and ambiguous POSTs."""

    api: tuple[ApiError, ...]
    refused: tuple[RefusedCall, ...]
    ambiguous: Ambiguous
    # Connects that reached no Exotel answer (network errors, unreachable, lost answers
    # with no call found): not refusals, so not in ``refused``.
    network: tuple[RefusedCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Tracking:
    """How call outcomes were learnt: the callback fast path or the polling safety net."""

    resolved: int
    resolved_by: tuple[Count, ...]  # callback | poll | reconcile | give_up | connect
    recovered_by_poll: int  # callbacks missed, outcome learnt by polling
    gave_up: int  # outcome never learnt (unknown)
    callback_effects: tuple[Count, ...]  # applied | duplicate | stale | unmatched | early
    polls: int  # poll reads of individual calls


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One ``run_log`` row: a run-level event (any kind, known or not)."""

    at: datetime
    kind: str
    level: str  # "warning" for kinds that need attention, else "info"
    message: str
    data: dict[str, Any] = field(hash=False)
    count: int = 1  # identical consecutive events collapsed into this one
    last_at: datetime | None = None  # the last of them, when count > 1


@dataclass(frozen=True, slots=True)
class RunEvents:
    """Run-level events: every kind counted, the first and last ``EVENTS_SHOWN`` listed.

    Identical consecutive events (same kind, message and data) are listed once with
    their ``count``, so ``len(events)`` may be far below ``total``.
    """

    total: int
    kinds: tuple[Count, ...]
    events: tuple[RunEvent, ...]


# ContactLine and CallLine are the only classes built 100,000 times per report: they
# are not frozen, because a frozen dataclass takes 2.5 times longer to construct
# (measured). Treat them as read-only like everything else here.


@dataclass(slots=True)
class CallLine:
    """One placed call in a contact's history (the fields of ``campaigner export``)."""

    attempt: int
    sid: str | None
    status: str | None  # Exotel's status, verbatim
    outcome: str | None
    reason: str | None
    started_at: datetime | None
    ended_at: datetime | None
    talk_time: int | None
    recording_url: str | None  # http(s) only, without any user:password part
    caller_id: str
    agent: str | None  # masked unless --no-mask
    resolved_by: str | None
    adopted: bool


@dataclass(slots=True)
class ContactLine:
    """One row of the per-contact table (file rows that were skipped included)."""

    phone: str  # masked to the last 4 digits unless --no-mask
    name: str | None  # the ``name`` variable, if any
    variables: tuple[tuple[str, str], ...]
    outcome: str  # final outcome, or pending / in_call while a run is live
    reason: str | None
    attempts: int
    talk_time: int  # seconds, all calls
    recording_url: str | None  # the last call's recording
    source: str  # file:line
    calls: tuple[CallLine, ...]


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """Everything a report shows. ``masked`` says whether numbers are masked."""

    version: int
    masked: bool
    header: Header
    funnel: Funnel
    outcomes: Outcomes
    retries: Retries
    timeline: Timeline
    api: ApiUsage
    caller_ids: tuple[GroupStats, ...]
    agents: tuple[GroupStats, ...]
    talk_time: TalkTime
    errors: Errors
    tracking: Tracking
    run_events: RunEvents
    contacts: tuple[ContactLine, ...]
    spend: Spend | None = None
    by_hour: tuple[HourRate, ...] = ()
    not_connected: NotConnected | None = None
    agent_use: tuple[AgentUse, ...] = ()
