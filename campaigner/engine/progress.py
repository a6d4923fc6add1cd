"""Live progress: a rich panel on a terminal, plain lines otherwise.

What an operator watching a run wants at a glance: how far along it is (a bar of
contacts with a final outcome), what the clock says (the real one, and in sandbox
the simulator's, labelled as such), when it should be done (a steady estimate that
says whose clock it is counted on), the deadline, retries waiting and when the next
is due, the request rate against the budget, why dialing is idle if it is, DND
screening and caller ID health.

"Calls placed" and "contacts final" are different units: a contact may be called
several times (retries), so 22 calls placed beside 5 contacts final is normal early
in a run; the panel labels both.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import trio
import trio.testing
from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from campaigner.compile.plan import minutes_text
from campaigner.engine.context import RunContext

log = logging.getLogger("campaigner.progress")

WINDOW = 15 * 60.0  # the completion rate is measured over the last 15 minutes of run time
MIN_SPAN = 120.0  # and not before 2 minutes of it are seen
TAU = 300.0  # the estimate follows a changed rate over about 5 minutes, not at once
RETRIES_EVERY = 1.0  # the retries line is read from the journal at most once a real second,
RETRIES_STALE = 30.0  # and at least every 30 s of run time (sandbox time runs far faster)

_RETRIES = (
    "SELECT count(*), coalesce(sum(next_at <= ?), 0), min(CASE WHEN next_at > ? THEN next_at END) "
    "FROM contacts WHERE state = 'ready' AND (attempts > 0 OR agent_failures > 0)"
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One reading of a run's progress."""

    contacts: int
    done: int  # contacts with a final outcome
    dialed: int  # calls placed, retries included (not contacts)
    connected: int
    failed: int
    in_flight: int
    pending: int  # contacts not final and not in a call: waiting to be dialed or retried
    rate: int
    budget: int
    throttled: int
    eta_minutes: float | None  # on the run's clock (simulated in sandbox)
    waiting: str | None
    screening: str | None = None
    caller_ids: str | None = None
    clock: datetime | None = None  # the run's clock, campaign timezone
    real: datetime | None = None  # the real clock, campaign timezone
    simulated: bool = False  # the run's clock is the simulator's
    time_scale: float | None = None  # simulated seconds per real second (None: as fast as can)
    deadline: datetime | None = None
    retries_waiting: int = 0  # contacts called before, waiting for their next call
    retries_due: int = 0  # of those, due now (waiting for a free line or the window)
    next_retry: datetime | None = None  # when the next one not yet due comes due

    def eta_text(self) -> str:
        """``about 23 min (simulated clock; about 46 s real)`` or ``unknown yet``."""
        if self.eta_minutes is None:
            return "unknown yet" if self.done < self.contacts else "-"
        text = f"about {minutes_text(self.eta_minutes)}"
        if not self.simulated:
            return text + " (real time)"
        if self.time_scale:
            real = self.eta_minutes * 60 / self.time_scale
            return f"{text} (simulated clock; about {_seconds_text(real)} real)"
        return f"{text} (simulated clock)"

    def after_deadline(self) -> bool:
        """The estimate ends after the deadline (contacts left then end expired)."""
        if self.eta_minutes is None or self.deadline is None or self.clock is None:
            return False
        return self.clock.timestamp() + self.eta_minutes * 60 > self.deadline.timestamp()

    def line(self) -> str:
        eta = f", {self.eta_text()} left" if self.eta_minutes else ""
        notes = [n for n in (self.waiting, self.caller_ids, self.screening) if n]
        idle = "".join(f" [{n}]" for n in notes)
        retries = f", {self.retries_waiting} waiting for a retry" if self.retries_waiting else ""
        return (
            f"{self.done}/{self.contacts} contacts final: {self.connected} connected, "
            f"{self.failed} not reached; {self.dialed} calls placed (retries included), "
            f"{self.in_flight} in flight, {self.pending} contacts waiting{retries}; "
            f"{self.rate}/{self.budget} requests in the last minute{eta}{idle}"
        )


def _seconds_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return minutes_text(seconds / 60)


class Eta:
    """A steady time-left estimate: the completion rate over a sliding window, smoothed.

    The last estimate jumped 22 -> 37 -> 23 -> 11 minutes because it divided by the
    rate between two samples a minute apart. Here the rate is measured over the last
    :data:`WINDOW` of run time, then smoothed exponentially (time constant :data:`TAU`),
    so a burst of answers or a quiet minute moves it a little, and a real change of
    pace moves it within minutes. Times are the run's clock (trio's: simulated in sandbox).
    """

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()
        self._rate: float | None = None  # contacts per second, smoothed
        self._at: float | None = None

    def add(self, now: float, done: int) -> None:
        samples = self._samples
        if samples and now <= samples[-1][0]:
            samples[-1] = (samples[-1][0], done)
            return
        samples.append((now, done))
        while len(samples) > 2 and samples[1][0] <= now - WINDOW:
            samples.popleft()
        (t0, d0), (t1, d1) = samples[0], samples[-1]
        if t1 - t0 < MIN_SPAN:
            return
        measured = max(d1 - d0, 0) / (t1 - t0)
        if self._rate is None or self._at is None:
            if d1 > d0:
                self._rate = measured
        else:
            weight = 1 - math.exp(-(now - self._at) / TAU)
            self._rate += (measured - self._rate) * weight
        self._at = now

    def minutes(self, remaining: int) -> float | None:
        """Minutes until ``remaining`` more contacts are final; None when unknown."""
        if remaining <= 0 or not self._rate or self._rate <= 0:
            return None
        return remaining / self._rate / 60.0


class Progress:
    """Samples a run's counters; keeps a window of history for the estimate."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.eta = Eta()
        clock = trio.lowlevel.current_clock()
        self.simulated = isinstance(clock, trio.testing.MockClock)
        rate = clock.rate if isinstance(clock, trio.testing.MockClock) else 1.0
        self.time_scale: float | None = rate or None
        self._retries: tuple[int, int, float | None] = (0, 0, None)
        self._retries_read = -math.inf  # real (monotonic) time of the last read
        self._retries_run = -math.inf  # run (trio) time of the last read

    def snapshot(self) -> Snapshot:
        ctx = self.ctx
        stats = ctx.stats
        limiter = ctx.limiter.statistics()
        done = stats.done
        self.eta.add(trio.current_time(), done)
        contacts = max(stats.contacts, done)
        not_reached = sum(v for k, v in stats.outcomes.items() if k not in ("connected", "skipped"))
        tz = ctx.schedule.tz
        clock = ctx.clock.now().astimezone(tz)
        waiting, due, next_at = self._retries_now(clock.timestamp())
        return Snapshot(
            contacts=contacts,
            done=done,
            dialed=stats.calls_placed,
            connected=stats.outcomes.get("connected", 0),
            failed=not_reached,
            in_flight=len(ctx.registry),
            pending=max(contacts - done - len(ctx.registry), 0),
            rate=limiter.last_minute,
            budget=limiter.requests_per_minute,
            throttled=limiter.throttled,
            eta_minutes=self.eta.minutes(contacts - done),
            waiting=stats.waiting_reason,
            screening=_screening(ctx),
            caller_ids=stats.caller_ids_note,
            clock=clock,
            real=datetime.now(UTC).astimezone(tz),
            simulated=self.simulated,
            time_scale=self.time_scale if self.simulated else None,
            deadline=ctx.schedule.deadline,
            retries_waiting=waiting,
            retries_due=due,
            next_retry=None if next_at is None else datetime.fromtimestamp(next_at, tz),
        )

    def _retries_now(self, now: float) -> tuple[int, int, float | None]:
        """(contacts waiting for a retry, due now, next due), from the journal when stale."""
        run = trio.current_time()
        fresh = run - self._retries_run < RETRIES_STALE
        if not fresh or time.monotonic() - self._retries_read >= RETRIES_EVERY:
            self._retries_read, self._retries_run = time.monotonic(), run
            try:
                row = self.ctx.journal.conn.execute(_RETRIES, (now, now)).fetchone()
            except sqlite3.Error:  # the display never stops a run
                log.debug("retries line: journal not readable", exc_info=True)
            else:
                self._retries = (int(row[0]), int(row[1]), row[2])
        return self._retries


def _screening(ctx: RunContext) -> str | None:
    stats = ctx.stats
    looked, cached = stats.looked_up, stats.from_cache
    skipped = stats.screening_skipped
    if not (looked or cached or skipped or stats.frequency_deferred):
        return None
    parts = [f"DND: {looked} looked up, {cached} cached, {skipped.get('dnd', 0)} skipped"]
    if stats.frequency_deferred or skipped.get("frequency_cap"):
        parts.append(
            f"frequency cap: {stats.frequency_deferred} deferred, "
            f"{skipped.get('frequency_cap', 0)} skipped"
        )
    return "; ".join(parts)


def _when(at: datetime, now: datetime) -> str:
    """``14:05`` today, ``Tue 24 Nov 20:30`` another day, with the zone's abbreviation."""
    fmt = "%H:%M %Z" if at.date() == now.date() else "%a %d %b %H:%M %Z"
    return at.strftime(fmt)


def table(snap: Snapshot, title: str) -> Table:
    """The terminal panel."""
    grid = Table(title=title, show_header=False, box=None, padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    share = snap.done / snap.contacts if snap.contacts else 0.0
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=max(snap.contacts, 1), completed=snap.done, width=24),
        Text(f"{snap.done:,} of {snap.contacts:,} ({share:.0%})"),
    )
    grid.add_row("contacts final", bar)
    grid.add_row("  connected", f"{snap.connected:,}")
    grid.add_row("  not reached", f"{snap.failed:,}")
    grid.add_row("contacts waiting", f"{snap.pending:,} (to be dialed, or retried)")
    grid.add_row("calls placed", f"{snap.dialed:,} (every attempt; {snap.in_flight:,} in flight)")
    if snap.retries_waiting:
        due = f"; {snap.retries_due:,} due now" if snap.retries_due else ""
        nxt = ""
        if snap.next_retry is not None and snap.clock is not None:
            nxt = f"; next due {_when(snap.next_retry, snap.clock)}"
        grid.add_row("retries waiting", f"{snap.retries_waiting:,} contacts{due}{nxt}")
    limited = f" ({snap.throttled} x 429)" if snap.throttled else ""
    grid.add_row("requests/min", f"{snap.rate} of {snap.budget}{limited}")
    if snap.clock is not None and snap.real is not None:
        if snap.simulated:
            scale = f"x{snap.time_scale:g}" if snap.time_scale else "as fast as it can"
            grid.add_row("clock", f"{snap.clock:%a %d %b %H:%M:%S} (simulated, {scale})")
            grid.add_row("real clock", f"{snap.real:%H:%M:%S}")
        else:
            grid.add_row("clock", f"{snap.real:%a %d %b %H:%M:%S %Z}")
    if snap.deadline is not None and snap.clock is not None:
        grid.add_row("deadline", _when(snap.deadline, snap.clock))
    left = snap.eta_text()
    if snap.after_deadline():
        left += ": after the deadline"
    grid.add_row("time left", left)
    if snap.screening:
        grid.add_row("screening", snap.screening)
    captions = [c for c in (snap.waiting, snap.caller_ids) if c]
    if captions:
        grid.caption = "\n".join(captions)
    return grid


@contextmanager
def logs_above(live: Live) -> Iterator[None]:
    """Send log records through the live display while it runs, then put things back.

    The log handler keeps the stream it was given (the real stderr), so a warning
    written while the panel is live lands inside the panel's lines; the next refresh
    then draws a new panel below it, and a Ctrl-C (which logs) left the header on
    screen twice. Rich's stderr proxy prints the record above the panel instead.
    """
    proxy = sys.stderr
    original = getattr(proxy, "rich_proxied_file", None)  # set while Live redirects stderr
    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    if original is not None and live.is_started:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                moved.append((handler, handler.setStream(proxy)))
    try:
        yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)


async def show_progress(ctx: RunContext, console: Console | None = None) -> None:
    """Refresh a live panel when attached to a terminal, else log a line a minute."""
    console = console or Console(stderr=True)
    progress = Progress(ctx)
    title = f"campaigner: {ctx.loaded.campaign.name}"
    if not console.is_terminal:
        last = -1e9
        while True:
            # At most one line per simulated minute, and per real second (sandbox time
            # can pass much faster than real time).
            if time.monotonic() - last >= 1.0:
                snap = progress.snapshot()
                stamp = ctx.clock.now().astimezone(ctx.schedule.tz).strftime("%d %b %H:%M %Z")
                if snap.simulated:
                    stamp += " simulated"
                extra = {f"data_{k}": v for k, v in asdict(snap).items()}
                log.info(f"[{stamp}] {snap.line()}", extra=extra)
                last = time.monotonic()
            await trio.sleep(60)
    with (
        Live(table(progress.snapshot(), title), console=console, auto_refresh=False) as live,
        logs_above(live),
    ):
        last = 0.0
        try:
            while True:
                await trio.sleep(0.5)
                # In sandbox virtual time, 0.5 s passes often: redraw at most 5 times a
                # second of real time.
                if time.monotonic() - last >= 0.2:
                    live.update(table(progress.snapshot(), title), refresh=True)
                    last = time.monotonic()
        finally:
            # One last drawing in place; Live's exit leaves it on screen once.
            live.update(table(progress.snapshot(), title), refresh=False)
