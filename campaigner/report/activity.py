"""Activity over time: calls per bucket stacked by outcome, API requests per minute.

Both are aggregated in SQL (one row per bucket and outcome, one per minute), so a
campaign of 100,000 contacts costs a few thousand rows here, not a row per call.
Buckets are aligned to the campaign's local clock (10:00, 10:10, ...), which
matters in India, whose offset is not a whole hour.
"""

from __future__ import annotations

from datetime import timedelta

from campaigner.report.model import ApiUsage, MinuteCount, TimeBucket, Timeline
from campaigner.report.source import Source, counts, grouped, outcome_sort_key

TEN_MINUTES = 600
HOUR = 3600
SHORT_RUN = 12 * HOUR  # runs up to this long are drawn in 10-minute buckets


def bucket_for(span_seconds: float) -> int:
    """10 minutes for a run up to 12 hours long, else an hour (readable bar counts)."""
    return TEN_MINUTES if span_seconds <= SHORT_RUN else HOUR


def local_floor(source: Source, epoch: float, seconds: int) -> float:
    """The start of the local-time bucket of ``seconds`` holding ``epoch``."""
    local = source.when(epoch)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    into_day = (local - midnight).total_seconds()
    start = midnight + timedelta(seconds=into_day - into_day % seconds)
    return start.timestamp()


def timeline(source: Source) -> Timeline:
    """Calls (placed or in flight) per bucket of their intent time, by outcome."""
    first, last = source.rows(
        "SELECT min(intent_at), max(intent_at) FROM calls WHERE sid IS NOT NULL OR open = 1"
    )[0]
    if first is None:
        return Timeline(TEN_MINUTES, (), (), 0)
    size = bucket_for(float(last) - float(first))
    origin = local_floor(source, float(first), size)
    cells: dict[int, dict[str, int]] = {}
    for index, key, count in source.rows(
        "SELECT CAST((intent_at - ?) / ? AS INTEGER), "
        "CASE WHEN open = 1 THEN 'in_call' ELSE coalesce(outcome, 'unknown') END, count(*) "
        "FROM calls WHERE sid IS NOT NULL OR open = 1 GROUP BY 1, 2",
        (origin, size),
    ):
        cells.setdefault(int(index), {})[str(key)] = int(count)
    present = sorted({k for cell in cells.values() for k in cell}, key=outcome_sort_key)
    buckets = tuple(
        TimeBucket(
            start=source.when(origin + i * size),
            total=sum(cells.get(i, {}).values()),
            counts=counts(cells.get(i, {}), by_outcome=True),
        )
        for i in range(max(cells) + 1)
    )
    return Timeline(size, buckets, tuple(present), max(b.total for b in buckets))


def api_usage(source: Source) -> ApiUsage:
    """Requests per minute (minutes with at least one), their purposes, and 429s."""
    budget = source.settings.requests_per_minute
    purposes = grouped(source, "SELECT purpose, count(*) FROM requests GROUP BY 1")
    total = sum(purposes.values())
    first = source.scalar("SELECT min(at) FROM requests")
    minutes: tuple[MinuteCount, ...] = ()
    if first is not None:
        origin = local_floor(source, float(first), 60)
        minutes = tuple(
            MinuteCount(source.when(origin + int(index) * 60), int(count))
            for index, count in source.rows(
                "SELECT CAST((at - ?) / 60 AS INTEGER), count(*) FROM requests GROUP BY 1 "
                "ORDER BY 1",
                (origin,),
            )
        )
    peak = max((m.count for m in minutes), default=0)
    return ApiUsage(
        total=total,
        budget_per_minute=budget,
        minutes=minutes,
        peak_per_minute=peak,
        peak_share=peak / budget,
        mean_per_active_minute=total / len(minutes) if minutes else 0.0,
        by_purpose=counts(purposes),
        rate_limited=int(source.scalar("SELECT count(*) FROM requests WHERE status = 429")),
    )
