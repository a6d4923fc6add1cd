"""Rules that span fields or depend on the API version, each naming the key path it is about.

The model checks shapes and ranges; these check what only makes sense together:
options the chosen API lacks (the message names the API that has them), the dial
mode's parties, schedule coherence, and warnings a reviewer should see before a
campaign dials thousands of people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from campaigner.campaign.durations import format_duration
from campaigner.campaign.findings import Finding, error, only_in, warning
from campaigner.campaign.model import Campaign, ContactFirst, Flow
from campaigner.campaign.parties import resolve_parties
from campaigner.campaign.validation import suggest
from campaigner.exotel.registry import api_version, who_has
from campaigner.phones import is_region

# Hours in which commercial calls to Indian customers are expected (TRAI's 09:00-21:00).
CALLING_HOURS = (9 * 60, 21 * 60)

# How long a call can stay out of v1 bulk call details, which never list ongoing calls
# (docs/operations.md, "Lost connect answers"). Unset options take Exotel's longest: the
# 4 h cap on TimeLimit/max_time_limit, and 60 s per leg for TimeOut (the v1 connect page
# gives no default; v3's attempt_time_out defaults to 30 s).
RING_WHEN_UNSET = 60
LIMIT_WHEN_UNSET = 14400
# Seconds on top of the rings and the time limit: the POST reaching Exotel after its intent
# was journaled (at most the client's 15 s timeout), the call queued before its first leg
# rings, Exotel finishing the call's record (about 2 min), and clock skew between us and
# Exotel's DateCreated.
LOST_ANSWER_MARGIN = 300

Rule = Callable[[Campaign, datetime], Iterator[Finding]]


def check(campaign: Campaign, now: datetime) -> list[Finding]:
    """Every finding of every rule; ``now`` (aware) is injected so tests are exact."""
    findings = list(resolve_parties(campaign).findings)
    for rule in RULES:
        findings.extend(rule(campaign, now))
    return findings


def api_options(c: Campaign, now: datetime) -> Iterator[Finding]:
    """Options the campaign's API version lacks (its description's capabilities); the
    message names the first version that has the option and its wire name."""
    caps = api_version(c.api).capabilities
    if c.call.call_type is not None and caps.call_type is None:
        yield error(("call", "call_type"), only_in(*who_has(lambda k: k.call_type), c.api))
    if isinstance(c.dial, Flow) and caps.flow is None:
        yield error(("dial", "mode"), "flow is " + only_in(*who_has(lambda k: k.flow), c.api))
    playbacks = c.playbacks()
    single = not isinstance(c.call.playback, list)
    if len(playbacks) > 1 and caps.playback_list is None:
        having, wire = who_has(lambda k: k.playback_list)
        wire += f"; {c.api} has one {caps.playback}"
        yield error(
            ("call", "playback"), "more than one playback is " + only_in(having, wire, c.api)
        )
    for index, playback in enumerate(playbacks):
        if playback.when == "end" and caps.playback_at_end is None:
            path = ("call", "playback", "when") if single else ("call", "playback", index, "when")
            refusal = only_in(*who_has(lambda k: k.playback_at_end), c.api)
            yield error(path, "when: end is " + refusal)
    if c.callbacks.method == "GET" and caps.callback_method is None:
        refusal = only_in(*who_has(lambda k: k.callback_method), c.api)
        yield error(("callbacks", "method"), refusal)


def dial_parties(c: Campaign, now: datetime) -> Iterator[Finding]:
    """contact_first connects to agents or one fixed number, never both or neither."""
    if isinstance(c.dial, ContactFirst) and (c.dial.agents is None) == (c.dial.connect_to is None):
        yield error(("dial",), "contact_first needs exactly one of agents or connect_to")


def contacts_source(c: Campaign, now: datetime) -> Iterator[Finding]:
    """Exactly one of file / inline; a region phonenumbers knows."""
    if (c.contacts.file is None) == (c.contacts.inline is None):
        yield error(("contacts",), "needs exactly one of file or inline")
    if not is_region(c.contacts.default_region):
        message = f"unknown region '{c.contacts.default_region}' (an ISO 3166 code such as IN)"
        yield error(("contacts", "default_region"), message)


def recording(c: Campaign, now: datetime) -> Iterator[Finding]:
    """Channels and format mean nothing unless the call is recorded."""
    rec = c.call.recording
    if rec is not None and not rec.record:
        for name in ("channels", "format"):
            if getattr(rec, name) is not None:
                message = "has no effect without record: true"
                yield warning(("call", "recording", name), message)


def schedule_values(c: Campaign, now: datetime) -> Iterator[Finding]:
    """Timezone exists, windows end after they start, dates are dates, deadline is later."""
    tz = _zone(c)
    if tz is None:
        zones = sorted(available_timezones())
        message = f"unknown timezone '{c.schedule.timezone}'" + suggest(c.schedule.timezone, zones)
        yield error(("schedule", "timezone"), message)
    for index, window in enumerate(c.schedule.windows):
        if window.end_minutes <= window.start_minutes:
            message = (
                f"end {window.end} is not after start {window.start} (no window crosses midnight)"
            )
            yield error(("schedule", "windows", index, "end"), message)
    for index, text in enumerate(c.schedule.skip_dates):
        try:
            date.fromisoformat(text)
        except ValueError:
            yield error(("schedule", "skip_dates", index), f"'{text}' is not a date (YYYY-MM-DD)")
    start, deadline = _aware(c.schedule.not_before, tz), _aware(c.schedule.deadline, tz)
    if start is not None and deadline is not None and deadline <= start:
        yield error(("schedule", "deadline"), "the deadline is not after not_before")


def schedule_warnings(c: Campaign, now: datetime) -> Iterator[Finding]:
    """Windows outside calling hours; no deadline; a deadline already past."""
    tz = _zone(c)
    low, high = CALLING_HOURS
    for index, window in enumerate(c.schedule.windows):
        if window.start_minutes < low or window.end_minutes > high:
            message = (
                f"{window.start}-{window.end} allows calls outside 09:00-21:00 "
                f"({c.schedule.timezone}), the hours Indian customers may be called"
            )
            yield warning(("schedule", "windows", index), message)
    deadline = _aware(c.schedule.deadline, tz)
    if deadline is None:
        yield warning(("schedule",), "no deadline: the run goes on until every contact is final")
    elif deadline <= now:
        yield warning(("schedule", "deadline"), "the deadline has passed: nothing would be dialed")


def retry_span(c: Campaign, now: datetime) -> Iterator[Finding]:
    """A retry policy whose total span cannot fit before the deadline."""
    if c.retry.max_attempts > 1 and not c.retry.on:
        yield warning(("retry", "on"), "is empty: no outcome earns another attempt")
    tz = _zone(c)
    deadline = _aware(c.schedule.deadline, tz)
    if deadline is None or c.retry.max_attempts < 2:
        return
    start = max(now, _aware(c.schedule.not_before, tz) or now)
    span = retry_total(c)
    if start + span > deadline:
        left = format_duration(max(deadline - start, timedelta(0)))
        message = (
            f"the retries need up to {format_duration(span)} after a first attempt, but only "
            f"{left} remain before the deadline: late attempts will expire"
        )
        yield warning(("retry", "backoff"), message)


def retry_windows(c: Campaign, now: datetime) -> Iterator[Finding]:
    """Retry delays as long as a calling window: retries land outside it, in a later one."""
    if c.retry.max_attempts < 2 or not c.retry.on:
        return
    longest = max(retry_delays(c))
    window = min(w.end_minutes - w.start_minutes for w in c.schedule.windows)
    if window > 0 and longest >= timedelta(minutes=window):
        message = (
            f"delays up to {format_duration(longest)} are not shorter than the "
            f"{format_duration(timedelta(minutes=window))} calling window: retries land "
            "outside it and wait for a later window (often the next day)"
        )
        yield warning(("retry", "backoff"), message)


def retry_delays(c: Campaign) -> list[timedelta]:
    """The backoff delay before each retry (attempt 2, 3, ...)."""
    backoff = c.retry.backoff
    return [
        min(backoff.first * backoff.factor ** (n - 1), backoff.max)
        for n in range(1, c.retry.max_attempts)
    ]


def retry_total(c: Campaign) -> timedelta:
    """The sum of the backoff delays between the first and the last attempt."""
    return sum(retry_delays(c), timedelta(0))


def lost_answer_span(c: Campaign) -> timedelta:
    """The longest a call created by ``c`` can stay invisible to v1 bulk call details.

    A connect whose answer was lost is proven to have created no call only by a listing
    taken this long after its intent; until then its contact must not be dialed again.
    """
    ring = c.call.ring_timeout or RING_WHEN_UNSET
    limit = c.call.time_limit or LIMIT_WHEN_UNSET
    return timedelta(seconds=2 * ring + limit + LOST_ANSWER_MARGIN)


def tracking(c: Campaign, now: datetime) -> Iterator[Finding]:
    """Callbacks reachable; events that include the terminal one; polling that makes sense."""
    if c.callbacks.public_url is None:
        message = (
            "no public_url: Exotel cannot reach this run, so calls are tracked by polling "
            "only (slower, and it spends the API budget)"
        )
        yield warning(("callbacks",), message)
    if "terminal" not in c.callbacks.events:
        message = "without terminal the run learns outcomes by polling only"
        yield warning(("callbacks", "events"), message)
    if c.tracking.poll_after >= c.tracking.give_up_after:
        yield warning(
            ("tracking", "give_up_after"), "is not after poll_after: calls are never polled"
        )
    span = lost_answer_span(c)
    if c.tracking.give_up_after < span:
        margin = format_duration(timedelta(seconds=LOST_ANSWER_MARGIN))
        message = (
            f"is shorter than the {format_duration(span)} a call can last (2 x ring_timeout + "
            f"time_limit + {margin}): a call still running then ends unknown, and a contact "
            f"whose connect answer was lost still waits up to {format_duration(span)} for its "
            "call to be found or proven absent"
        )
        yield warning(("tracking", "give_up_after"), message)


def screening(c: Campaign, now: datetime) -> Iterator[Finding]:
    """DND policies a reviewer must see; calling rules that hold retries back."""
    if c.screening.dnd == "only_transactional" and c.call.call_type != "trans":
        message = "only_transactional without call.call_type: trans skips every DND number"
        yield warning(("screening", "dnd"), message)
    if c.screening.dnd == "call":
        message = (
            "numbers on India's DND registry are called (no lookup); only transactional or "
            "consented calls may be"
        )
        yield warning(("screening", "dnd"), message)
    yield from _calling_rules(c)


def _calling_rules(c: Campaign) -> Iterator[Finding]:
    cap, gap = c.screening.frequency_cap, c.screening.min_gap
    retries = c.retry.max_attempts > 1 and bool(c.retry.on)
    squeezed = cap is not None and cap.calls < c.retry.max_attempts and retry_total(c) < cap.per
    if cap is not None and retries and squeezed:
        message = (
            f"allows {cap.calls} calls per {format_duration(cap.per)} but retry.max_attempts "
            f"is {c.retry.max_attempts}: later attempts wait until the cap allows them"
        )
        yield warning(("screening", "frequency_cap"), message)
    if gap is not None and retries and gap > retry_delays(c)[0]:
        message = (
            f"{format_duration(gap)} is longer than the first retry delay "
            f"({format_duration(retry_delays(c)[0])}): retries wait for the gap"
        )
        yield warning(("screening", "min_gap"), message)


def health(c: Campaign, now: datetime) -> Iterator[Finding]:
    """No circuit breaker: a broken setup would burn the whole contact list."""
    if c.health.circuit_breaker is None:
        message = (
            "circuit_breaker is off: if most calls fail (a wrong caller ID, an outage) the "
            "run spends every contact's attempts instead of pausing"
        )
        yield warning(("health", "circuit_breaker"), message)


def _zone(c: Campaign) -> ZoneInfo | None:
    try:
        return ZoneInfo(c.schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _aware(value: datetime | None, tz: ZoneInfo | None) -> datetime | None:
    """Naive instants in a campaign file mean the schedule's timezone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=tz or ZoneInfo("Asia/Kolkata"))


RULES: tuple[Rule, ...] = (
    api_options,
    dial_parties,
    contacts_source,
    recording,
    schedule_values,
    schedule_warnings,
    retry_span,
    retry_windows,
    tracking,
    screening,
    health,
)
