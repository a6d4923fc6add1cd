"""Per caller ID and per agent figures, and the talk-time distribution.

One pass over the calls table (a few columns per call) feeds all three, so the
cost stays linear and small even for hundreds of thousands of calls; medians and
percentiles need the values themselves, which SQLite cannot give directly.
"""

from __future__ import annotations

import contextlib
import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from campaigner.phones import normalise
from campaigner.report.model import Bin, GroupStats, TalkTime
from campaigner.report.source import Source

# Talk-time bins (seconds): short hang-ups apart from real conversations.
BIN_EDGES = (0, 15, 30, 60, 120, 300, 600, 1200)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    rank = max(1, math.ceil(fraction * len(values)))
    return float(values[rank - 1])


# Per (caller ID, agent): calls placed, connected, agent misses, and connects refused as
# agent busy. One scan serves both groupings (there are only a few hundred pairs).
_TALLY = (
    "SELECT caller_id, agent, sum(sid IS NOT NULL), "
    # coalesce: a group whose calls are all still open has only NULL outcomes, and
    # sum() over NULLs is NULL, not 0 (a report written mid-run or after a Ctrl-C).
    "coalesce(sum(sid IS NOT NULL AND outcome = 'connected'), 0), "
    "coalesce(sum(sid IS NOT NULL AND outcome = 'agent_unanswered'), 0), "
    "coalesce(sum(sid IS NULL AND error_status = 409), 0) FROM calls "
    "WHERE sid IS NOT NULL OR error_status = 409 GROUP BY 1, 2"
)
# Connected calls' talk times (sorted in Python: cheaper than SQLite's sort here).
_TALK = (
    "SELECT caller_id, agent, talk_time FROM calls WHERE sid IS NOT NULL "
    "AND outcome = 'connected' AND talk_time IS NOT NULL"
)


@dataclass
class _Tally:
    calls: int = 0
    connected: int = 0
    misses: int = 0
    busy: int = 0
    talk: list[int] = field(default_factory=list)

    def add(self, calls: int, connected: int, misses: int, busy: int) -> None:
        self.calls += calls
        self.connected += connected
        self.misses += misses
        self.busy += busy

    def stats(self, key: str, label: str | None) -> GroupStats:
        times = sorted(self.talk)
        return GroupStats(
            key=key,
            label=label,
            calls=self.calls,
            connected=self.connected,
            connect_rate=self.connected / self.calls if self.calls else 0.0,
            talk_median=float(median(times)) if times else None,
            talk_p90=percentile(times, 0.9),
            agent_misses=self.misses,
            agent_busy=self.busy,
        )


@dataclass(frozen=True)
class Groups:
    caller_ids: tuple[GroupStats, ...]
    agents: tuple[GroupStats, ...]
    talk_time: TalkTime


def groups(source: Source) -> Groups:
    """Calls, connect rate, talk time and agent misses per caller ID and per agent.

    Counted in SQL; only connected calls' talk times come back, for the medians and
    percentiles SQLite cannot compute.
    """
    by_caller: dict[str, _Tally] = {}
    by_agent: dict[str, _Tally] = {}
    for caller_id, agent, *counts in source.tuples(_TALLY):
        by_caller.setdefault(caller_id, _Tally()).add(*counts)
        if agent:
            by_agent.setdefault(agent, _Tally()).add(*counts)
    everyone: list[int] = []
    for caller_id, agent, seconds in source.tuples(_TALK):
        everyone.append(seconds)
        by_caller[caller_id].talk.append(seconds)
        if agent:
            by_agent[agent].talk.append(seconds)
    names = agent_names(source)
    return Groups(
        caller_ids=tuple(t.stats(source.phone(k), None) for k, t in sorted(by_caller.items())),
        agents=tuple(t.stats(source.phone(k), names.get(k)) for k, t in sorted(by_agent.items())),
        talk_time=talk_time_of(everyone),
    )


def agent_names(source: Source) -> dict[str, str]:
    """Agent number (E.164, as calls record it) -> the name the campaign file gives."""
    names: dict[str, str] = {}
    for agent in source.settings.agents:
        names[agent.contact_uri] = agent.name
        with contextlib.suppress(ValueError):
            names[normalise(agent.contact_uri)] = agent.name
    return names


def talk_time_of(values: list[int]) -> TalkTime:
    """The distribution of connected calls' talk times, in :data:`BIN_EDGES` bins."""
    ordered = sorted(values)
    bins = []
    for i, lower in enumerate(BIN_EDGES):
        upper = BIN_EDGES[i + 1] if i + 1 < len(BIN_EDGES) else None
        end = len(ordered) if upper is None else bisect_left(ordered, upper)
        count = end - bisect_left(ordered, lower)
        bins.append(Bin(_bin_label(lower, upper), lower, upper, count))
    return TalkTime(
        calls=len(ordered),
        total_seconds=sum(ordered),
        median=float(median(ordered)) if ordered else None,
        p90=percentile(ordered, 0.9),
        mean=sum(ordered) / len(ordered) if ordered else None,
        bins=tuple(bins),
    )


def _bin_label(lower: int, upper: int | None) -> str:
    def short(seconds: int) -> str:
        return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m"

    return f"{short(lower)}+" if upper is None else f"{short(lower)}\u2013{short(upper)}"
