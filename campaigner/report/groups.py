"""Per caller ID and per agent figures, and the talk-time distribution.

One pass over the calls table (a few columns per call) feeds all three, so the
cost stays linear and small even for hundreds of thousands of calls; medians and
percentiles need the values themselves, which SQLite cannot give directly.
"""

from __future__ import annotations

import contextlib
import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


# Per group: calls placed, connected, agent misses, and connects refused as agent busy.
_TALLY = (
    "SELECT {key}, sum(sid IS NOT NULL), sum(sid IS NOT NULL AND outcome = 'connected'), "
    "sum(sid IS NOT NULL AND outcome = 'agent_unanswered'), "
    "sum(sid IS NULL AND error_status = 409) FROM calls "
    "WHERE {key} IS NOT NULL AND (sid IS NOT NULL OR error_status = 409) GROUP BY 1 ORDER BY 1"
)
# Connected calls' talk times, sorted: split per caller ID and agent in one pass.
_TALK = (
    "SELECT caller_id, agent, talk_time FROM calls WHERE sid IS NOT NULL "
    "AND outcome = 'connected' AND talk_time IS NOT NULL ORDER BY talk_time"
)


@dataclass(frozen=True)
class Groups:
    caller_ids: tuple[GroupStats, ...]
    agents: tuple[GroupStats, ...]
    talk_time: TalkTime


def groups(source: Source) -> Groups:
    """Calls, connect rate, talk time and agent misses per caller ID and per agent.

    Counted in SQL; only connected calls' talk times come back, sorted, for the
    medians and percentiles SQLite cannot compute.
    """
    names = _agent_names(source)
    everyone: list[int] = []
    by_caller: dict[str, list[int]] = {}
    by_agent: dict[str, list[int]] = {}
    for caller_id, agent, seconds in source.rows(_TALK):
        everyone.append(seconds)
        by_caller.setdefault(caller_id, []).append(seconds)
        if agent:
            by_agent.setdefault(agent, []).append(seconds)
    return Groups(
        caller_ids=_grouped(source, "caller_id", by_caller, lambda key: (key, None)),
        agents=_grouped(source, "agent", by_agent, lambda key: (source.phone(key), names.get(key))),
        talk_time=talk_time_of(everyone),
    )


def _grouped(
    source: Source,
    key: str,
    talk: dict[str, list[int]],
    show: Callable[[str], tuple[str, str | None]],
) -> tuple[GroupStats, ...]:
    stats = []
    for name, calls, connected, misses, busy in source.rows(_TALLY.format(key=key)):
        times = talk.get(name, [])  # sorted: the query orders by talk time
        shown, label = show(str(name))
        stats.append(
            GroupStats(
                key=shown,
                label=label,
                calls=int(calls),
                connected=int(connected),
                connect_rate=int(connected) / int(calls) if calls else 0.0,
                talk_median=float(median(times)) if times else None,
                talk_p90=percentile(times, 0.9),
                agent_misses=int(misses),
                agent_busy=int(busy),
            )
        )
    return tuple(stats)


def _agent_names(source: Source) -> dict[str, str]:
    """Agent number (E.164, as calls record it) -> the name the campaign file gives."""
    names: dict[str, str] = {}
    for entry in source.settings.get("dial", {}).get("agents") or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        uri = str(entry.get("contact_uri", ""))
        names[uri] = str(entry["name"])
        with contextlib.suppress(ValueError):
            names[normalise(uri)] = str(entry["name"])
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
