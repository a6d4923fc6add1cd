"""Chart geometry for the built-in template: SVG shapes computed from the summary.

Templates draw these shapes verbatim (``rect``, ``line``, ``text``), so all the
arithmetic lives here, in tested Python, and the template stays declarative.
Coordinates are in a fixed viewBox; the SVG scales to its container. Colours are
CSS classes (``o-<outcome>``), so an outcome campaigner learns later still gets a
(default) colour. Nothing here is part of the stable summary model: a custom
template may use ``charts`` or draw its own from ``summary``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from campaigner.report.format import SHOWN
from campaigner.report.model import ApiUsage, Count, ReportSummary, TalkTime, Timeline

WIDTH = 960
HEIGHT = 230
MAX_BAR = 120  # the widest timeline column: a run of two buckets gets two columns, not walls
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 28


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str  # start | middle | end
    cls: str


@dataclass(frozen=True, slots=True)
class Chart:
    """One SVG: a viewBox of ``width`` x ``height`` holding rects, lines and labels."""

    width: int
    height: int
    rects: tuple[Rect, ...]
    lines: tuple[Line, ...]
    labels: tuple[Label, ...]
    description: str  # for screen readers (aria-label)


@dataclass(frozen=True, slots=True)
class Arc:
    """A donut segment drawn as a dashed circle stroke (fractions of the circle)."""

    cls: str
    length: float
    offset: float
    title: str


@dataclass(frozen=True, slots=True)
class Charts:
    outcomes: tuple[Arc, ...]
    timeline: Chart | None
    api: Chart | None
    talk_time: Chart | None


@lru_cache(maxsize=256)
def css_class(key: str, prefix: str = "o-") -> str:
    """``o-<key>`` with anything but letters, digits, _ and - removed from the key."""
    return prefix + re.sub(r"[^a-z0-9_-]", "", key.lower())


# The colour of a key the vocabulary does not know (a later version's outcome, say).
OTHER_COLOUR = "#93a1b5"


def palette_css() -> str:
    """The outcome colours as CSS: a custom property per key (``--busy``) and the
    ``o-<key>`` class that sets ``--c`` from it, for every key of the vocabulary.

    report.css includes this (``{{ outcome_palette }}``) instead of restating the colours;
    its other rules (why-not-connected, how-learnt) reuse the properties by name.
    """
    props = " ".join(f"--{key}: {shown.colour};" for key, shown in SHOWN.items())
    classes = "\n".join(f".{css_class(key)} {{ --c: var(--{key}); }}" for key in SHOWN)
    return f":root {{ {props} --other: {OTHER_COLOUR}; }}\n{classes}"


def build_charts(summary: ReportSummary) -> Charts:
    """Every chart of the built-in template."""
    return Charts(
        outcomes=donut(summary.outcomes.contacts),
        timeline=timeline_chart(summary.timeline),
        api=api_chart(summary.api),
        talk_time=talk_time_chart(summary.talk_time),
    )


def donut(parts: Sequence[Count]) -> tuple[Arc, ...]:
    """Segments of a ring whose circumference is 100 (``pathLength``)."""
    arcs = []
    done = 0.0
    for part in parts:
        length = part.share * 100
        arcs.append(
            Arc(css_class(part.key), length, -done, f"{part.key}: {part.count:,} ({length:.1f}%)")
        )
        done += length
    return tuple(arcs)


def nice_step(peak: float, ticks: int = 4) -> float:
    """A 1, 2 or 5 times a power of ten step giving about ``ticks`` gridlines up to ``peak``."""
    if peak <= 0:
        return 1.0
    raw = peak / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(1.0, float(factor * power))
    return max(1.0, float(10 * power))


def _axes(top: float, *, unit: str = "") -> tuple[float, list[Line], list[Label]]:
    """Horizontal gridlines and y labels up to a nice ceiling above ``top``."""
    step = nice_step(top)
    ceiling = max(step, math.ceil(top / step) * step)
    lines, labels = [], []
    for i in range(int(round(ceiling / step)) + 1):
        value = i * step
        y = _y(value, ceiling)
        lines.append(Line(LEFT, y, WIDTH - RIGHT, y, "grid"))
        labels.append(Label(LEFT - 6, y + 4, f"{value:,.0f}{unit}", "end", "axis"))
    return ceiling, lines, labels


def _y(value: float, ceiling: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / ceiling)


def _plot_width() -> float:
    return WIDTH - LEFT - RIGHT


def _time_label(at: datetime, multi_day: bool) -> str:
    return at.strftime("%a %H:%M") if multi_day else at.strftime("%H:%M")


def timeline_chart(timeline: Timeline) -> Chart | None:
    """Stacked columns of calls per bucket, by outcome."""
    buckets = timeline.buckets
    if not buckets:
        return None
    ceiling, lines, labels = _axes(timeline.peak)
    # The buckets share the whole width (the axis spans the card), each column centred
    # in its slot and no wider than MAX_BAR.
    slot = _plot_width() / len(buckets)
    gap = max(min(6.0, slot * 0.15), slot - MAX_BAR)
    multi_day = buckets[0].start.date() != buckets[-1].start.date()
    every = max(1, math.ceil(len(buckets) / 8))
    rects = []
    for i, bucket in enumerate(buckets):
        x = LEFT + i * slot + gap / 2
        base = 0
        when = _time_label(bucket.start, multi_day)
        for part in bucket.counts:
            y_top, y_base = _y(base + part.count, ceiling), _y(base, ceiling)
            title = f"{when}: {part.count:,} {part.key}"
            rects.append(Rect(x, y_top, slot - gap, y_base - y_top, css_class(part.key), title))
            base += part.count
        if i % every == 0:
            labels.append(Label(x + (slot - gap) / 2, HEIGHT - 8, when, "middle", "axis"))
    minutes = timeline.bucket_seconds // 60
    text = f"Calls per {minutes} minutes by outcome, peak {timeline.peak:,}"
    return Chart(WIDTH, HEIGHT, tuple(rects), tuple(lines), tuple(labels), text)


def api_chart(api: ApiUsage) -> Chart | None:
    """Requests per minute as thin columns, with the budget as a line."""
    if not api.minutes:
        return None
    first, last = api.minutes[0].start, api.minutes[-1].start
    count = int((last - first).total_seconds() // 60) + 1
    ceiling, lines, labels = _axes(max(api.peak_per_minute, api.budget_per_minute))
    slot = _plot_width() / count  # the minutes span the whole width, however few
    rects = []
    for minute in api.minutes:
        i = int((minute.start - first).total_seconds() // 60)
        y = _y(minute.count, ceiling)
        title = f"{minute.start:%H:%M}: {minute.count:,} requests"
        rects.append(
            Rect(
                LEFT + i * slot,
                y,
                max(min(slot * 0.8, MAX_BAR), 0.6),
                _y(0, ceiling) - y,
                "api",
                title,
            )
        )
    budget = _y(api.budget_per_minute, ceiling)
    lines.append(Line(LEFT, budget, WIDTH - RIGHT, budget, "budget"))
    labels.append(
        Label(WIDTH - RIGHT, budget - 5, f"budget {api.budget_per_minute}/min", "end", "budget")
    )
    labels.extend(_minute_labels(first, count, slot))
    text = (
        f"API requests per minute, peak {api.peak_per_minute} "
        f"of a budget of {api.budget_per_minute}"
    )
    return Chart(WIDTH, HEIGHT, tuple(rects), tuple(lines), tuple(labels), text)


def _minute_labels(first: datetime, count: int, slot: float) -> list[Label]:
    """Up to five time labels under ``count`` minute columns, at least 80 units apart."""
    end = datetime.fromtimestamp(first.timestamp() + (count - 1) * 60, first.tzinfo)
    multi_day = first.date() != end.date()
    labels: list[Label] = []
    last_x = -1e9
    for i in range(5):
        offset = round(i * (count - 1) / 4)
        x = LEFT + (offset + 0.4) * slot
        if x - last_x < 80:
            continue
        stamp = datetime.fromtimestamp(first.timestamp() + offset * 60, first.tzinfo)
        labels.append(Label(x, HEIGHT - 8, _time_label(stamp, multi_day), "middle", "axis"))
        last_x = x
    return labels


def talk_time_chart(talk: TalkTime) -> Chart | None:
    """A histogram of connected calls' talk time."""
    if not talk.calls:
        return None
    ceiling, lines, labels = _axes(max(b.count for b in talk.bins))
    slot = _plot_width() / len(talk.bins)
    rects = []
    for i, b in enumerate(talk.bins):
        x = LEFT + i * slot + 4
        y = _y(b.count, ceiling)
        rects.append(
            Rect(x, y, slot - 8, _y(0, ceiling) - y, "o-connected", f"{b.label}: {b.count:,}")
        )
        labels.append(Label(x + (slot - 8) / 2, HEIGHT - 8, b.label, "middle", "axis"))
    text = f"Talk time of {talk.calls:,} connected calls"
    return Chart(WIDTH, HEIGHT, tuple(rects), tuple(lines), tuple(labels), text)
