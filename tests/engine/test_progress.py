"""The live display: a steady time-left estimate, labelled clocks, retries, one panel at the end.

The estimate is checked against the one it replaced (two samples a minute apart) on
the same completions: that one jumps, this one does not. The panel is rendered for
a real sandbox run (virtual time), and once more through a small terminal emulator
to show that a warning logged while it is live, then the end of the run (as after a
Ctrl-C), leave exactly one panel on screen.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio
import trio.testing
from rich.console import Console

from campaigner.engine.context import RunContext
from campaigner.engine.progress import MIN_SPAN, Eta, Progress, Snapshot, show_progress, table
from tests.engine.harness import run_against_sim
from tests.report.sandbox import SCENARIO, campaign_file

TITLE = "campaigner: collections-november"

# Contacts finished per minute: about 1.5 a minute on average, in uneven bursts, as
# answers come (several calls end together, then nothing while the next ones ring).
BURSTS = [0, 0, 4, 0, 1, 0, 0, 3, 2, 0, 0, 0, 5, 0, 1, 1, 0, 0, 4, 0] * 4


def estimates(series: list[int], total: int) -> tuple[list[float], list[float]]:
    """(this display's estimates, the old two-samples-a-minute-apart ones), minute by minute."""
    eta, done, steady, naive = Eta(), 0, [], []
    eta.add(0.0, 0)
    for minute, finished in enumerate(series, start=1):
        before, done = done, done + finished
        eta.add(minute * 60.0, done)
        now = eta.minutes(total - done)
        if minute * 60.0 >= MIN_SPAN + 300 and now is not None:  # once warmed up
            steady.append(now)
            if done > before:  # the old estimate: nothing finished in the minute, no estimate
                naive.append((total - done) / (done - before))
    return steady, naive


def biggest_jump(values: list[float]) -> float:
    """The largest change between consecutive estimates, beyond the minute that passed."""
    return max(abs(b - (a - 1)) / max(a, 1.0) for a, b in zip(values, values[1:], strict=False))


def test_the_estimate_is_steady_where_two_samples_jump() -> None:
    steady, naive = estimates(BURSTS, total=150)
    assert len(steady) > 50
    assert biggest_jump(steady) < 0.12  # never more than 12% off the last one
    assert biggest_jump(naive) > 1.0  # the old way: off by more than the whole estimate


def test_the_estimate_follows_a_real_change_of_pace() -> None:
    eta = Eta()
    done = 0
    for minute in range(0, 61):  # 1 contact a minute for an hour...
        eta.add(minute * 60.0, done)
        done += 1
    slow = eta.minutes(300)
    for minute in range(61, 91):  # ...then 3 a minute for half an hour
        eta.add(minute * 60.0, done)
        done += 3
    fast = eta.minutes(300)
    assert slow is not None
    assert fast is not None
    assert slow == pytest.approx(300, rel=0.05)
    assert fast < slow / 2.5  # the new pace is mostly taken up after half an hour
    assert Eta().minutes(10) is None  # nothing measured: unknown, not zero


def test_nothing_measured_yet_is_unknown_not_a_guess() -> None:
    eta = Eta()
    eta.add(0.0, 0)
    eta.add(MIN_SPAN - 1, 5)
    assert eta.minutes(10) is None


def render(snap: Snapshot) -> str:
    console = Console(file=io.StringIO(), width=110, color_system=None)
    console.print(table(snap, TITLE))
    return console.file.getvalue()  # type: ignore[attr-defined]


IST = UTC  # the panel shows times in whatever zone the snapshot carries


def snapshot(**kw: object) -> Snapshot:
    base: dict[str, object] = {
        "contacts": 48, "done": 12, "dialed": 31, "connected": 9, "failed": 2, "in_flight": 2,
        "pending": 34, "rate": 20, "budget": 60, "throttled": 0, "eta_minutes": 42.0,
        "waiting": None, "clock": datetime(2026, 11, 23, 10, 30, tzinfo=IST),
        "real": datetime(2026, 12, 7, 4, 1, 5, tzinfo=IST),
    }  # fmt: skip
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


def test_the_panel_labels_calls_contacts_clocks_deadline_and_retries() -> None:
    deadline = datetime(2026, 11, 23, 11, 0, tzinfo=IST)
    text = render(
        snapshot(
            simulated=True,
            time_scale=30.0,
            deadline=deadline,
            retries_waiting=5,
            retries_due=2,
            next_retry=datetime(2026, 11, 23, 10, 40, tzinfo=IST),
        )  # fmt: skip
    )
    assert "contacts final" in text
    assert "12 of 48 (25%)" in text
    assert "calls placed        31 (every attempt; 2 in flight)" in text
    assert "clock               Mon 23 Nov 10:30:00 (simulated, x30)" in text
    assert "real clock          04:01:05" in text
    # 42 simulated minutes at 30 times real speed: 84 real seconds.
    assert "about 42 min (simulated clock; about 84 s real): after the deadline" in text
    assert "deadline            11:00 UTC" in text
    assert "5 contacts; 2 due now; next due 10:40 UTC" in text
    real = render(snapshot(eta_minutes=20.0, deadline=deadline))
    assert "about 20 min (real time)" in real
    assert "after the deadline" not in real
    assert "Mon 07 Dec 04:01:05 UTC" in real
    assert "simulated" not in real
    assert "unknown yet" in render(snapshot(eta_minutes=None))


async def test_a_sandbox_run_shows_simulated_time_retries_and_a_steady_estimate(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[Snapshot] = []

    async def watch(ctx: RunContext) -> None:
        progress = Progress(ctx)
        while True:
            await trio.sleep(60)
            seen.append(progress.snapshot())

    await run_against_sim(campaign_file(tmp_path), SCENARIO, progress=watch)
    assert all(s.simulated and s.time_scale is None for s in seen)  # autojump: as fast as it can
    assert seen[-1].contacts == 48
    assert [s.done for s in seen] == sorted(s.done for s in seen)
    assert seen[-1].done >= 46  # sampled once a minute: the last contact may end after it
    assert seen[-1].dialed > seen[-1].done  # calls, not contacts: retries were placed
    later = [s for s in seen if s.retries_waiting and s.next_retry is not None]
    assert later, "some contacts waited for a retry"
    assert all(s.next_retry > s.clock for s in later if s.next_retry and s.clock)
    assert all(s.retries_due <= s.retries_waiting for s in seen)
    etas = [s.eta_minutes for s in seen if s.eta_minutes is not None and s.eta_minutes > 5]
    assert len(etas) > 20
    assert biggest_jump(etas) < 0.25


def screen(text: str) -> list[str]:
    """What a terminal shows after ``text``: lines, carriage returns, cursor up, erase line."""
    lines, row, col = [""], 0, 0
    control = re.compile(r"\x1b\[(\??)(\d*)([A-Za-z])")
    i = 0
    while i < len(text):
        char = text[i]
        match = control.match(text, i) if char == "\x1b" else None
        if match:
            private, number, code = match.groups()
            if code == "A" and not private:
                row = max(0, row - int(number or 1))
            elif code == "K":
                lines[row] = ""
            i = match.end()
            continue
        if char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1 :]
            col += 1
        i += 1
    return [line.rstrip() for line in lines]


async def test_a_warning_and_the_end_of_the_run_leave_one_panel(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = io.StringIO()  # stderr: the log handler and the panel share it, as on a tty
    monkeypatch.setattr(sys, "stderr", terminal)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = [logging.StreamHandler(terminal)]
    root.setLevel(logging.WARNING)
    console = Console(file=terminal, force_terminal=True, width=110, color_system=None)

    async def progress(ctx: RunContext) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(show_progress, ctx, console)
            await trio.sleep(20 * 60)
            logging.getLogger("campaigner.test").warning("a warning while the panel is live")
            await trio.sleep(5 * 60)
            nursery.cancel_scope.cancel()  # what Ctrl-C does to the display: it is cancelled

    try:
        await run_against_sim(campaign_file(tmp_path), SCENARIO, progress=progress)
    finally:
        root.handlers[:], root.level = handlers, level
    shown = screen(terminal.getvalue())
    assert sum(TITLE in line for line in shown) == 1
    warning = [i for i, line in enumerate(shown) if "a warning while the panel is live" in line]
    title = [i for i, line in enumerate(shown) if TITLE in line]
    assert len(warning) == 1
    assert warning[0] < title[0]  # above the panel, not inside it
    assert sum("contacts final" in line for line in shown) == 1
