"""Live progress: a rich panel on a terminal, plain lines otherwise.

What an operator watching a run wants at a glance: how many dialed, connected,
failed, pending and in flight; the current request rate against the budget;
why dialing is idle if it is; DND screening and caller ID health (which ExoPhone
is down, which alternate is used); and when it should be done.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import asdict, dataclass

import trio
from rich.console import Console
from rich.live import Live
from rich.table import Table

from campaigner.compile.plan import minutes_text
from campaigner.engine.context import RunContext

log = logging.getLogger("campaigner.progress")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One reading of a run's progress."""

    contacts: int
    done: int
    dialed: int
    connected: int
    failed: int
    in_flight: int
    pending: int
    rate: int
    budget: int
    throttled: int
    eta_minutes: float | None
    waiting: str | None
    screening: str | None = None
    caller_ids: str | None = None

    def line(self) -> str:
        eta = f", about {minutes_text(self.eta_minutes)} left" if self.eta_minutes else ""
        notes = [n for n in (self.waiting, self.caller_ids, self.screening) if n]
        idle = "".join(f" [{n}]" for n in notes)
        return (
            f"{self.done}/{self.contacts} contacts final: {self.connected} connected, "
            f"{self.failed} not reached; {self.dialed} calls placed, {self.in_flight} in flight, "
            f"{self.pending} pending; {self.rate}/{self.budget} requests in the last minute"
            f"{eta}{idle}"
        )


class Progress:
    """Samples a run's counters; keeps a short history for the rate and ETA."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._done: deque[tuple[float, int]] = deque(maxlen=120)

    def snapshot(self) -> Snapshot:
        ctx = self.ctx
        stats = ctx.stats
        limiter = ctx.limiter.statistics()
        now = trio.current_time()
        done = stats.done
        self._done.append((now, done))
        contacts = max(stats.contacts, done)
        not_reached = sum(v for k, v in stats.outcomes.items() if k not in ("connected", "skipped"))
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
            eta_minutes=self._eta(contacts - done),
            waiting=stats.waiting_reason,
            screening=_screening(ctx),
            caller_ids=stats.caller_ids_note,
        )

    def _eta(self, remaining: int) -> float | None:
        if len(self._done) < 2 or remaining <= 0:
            return None
        (t0, d0), (t1, d1) = self._done[0], self._done[-1]
        if d1 <= d0 or t1 <= t0:
            return None
        return remaining / ((d1 - d0) / (t1 - t0)) / 60.0


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


def table(snap: Snapshot, title: str) -> Table:
    """The terminal panel."""
    grid = Table(title=title, show_header=False, box=None, padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    rows = [
        ("contacts final", f"{snap.done:,} / {snap.contacts:,}"),
        ("connected", f"{snap.connected:,}"),
        ("not reached", f"{snap.failed:,}"),
        ("calls placed", f"{snap.dialed:,}"),
        ("in flight", f"{snap.in_flight:,}"),
        ("pending", f"{snap.pending:,}"),
        (
            "requests/min",
            f"{snap.rate} of {snap.budget}"
            + (f" ({snap.throttled} x 429)" if snap.throttled else ""),
        ),
        ("time left", minutes_text(snap.eta_minutes) if snap.eta_minutes else "-"),
    ]
    if snap.screening:
        rows.append(("screening", snap.screening))
    for name, value in rows:
        grid.add_row(name, value)
    captions = [c for c in (snap.waiting, snap.caller_ids) if c]
    if captions:
        grid.caption = "\n".join(captions)
    return grid


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
                extra = {f"data_{k}": v for k, v in asdict(snap).items()}
                log.info(f"[{stamp}] {snap.line()}", extra=extra)
                last = time.monotonic()
            await trio.sleep(60)
    with Live(table(progress.snapshot(), title), console=console, auto_refresh=False) as live:
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
            live.update(table(progress.snapshot(), title), refresh=True)
