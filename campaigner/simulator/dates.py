"""Dates as Exotel writes them, and the epoch-zero placeholders meaning "not yet".

v1 writes ``YYYY-MM-DD HH:mm:ss`` account-local (IST for Indian accounts); v3 adds the
offset (``+05:30``); heartbeats and v2 use RFC 3339 in UTC. Both APIs show an unfinished
end time as epoch zero in IST (docs/exotel/quirks.md: ``EndTime: "1970-01-01 05:30:00"``,
``end_time`` ``"1970-01-01 05:30:00+05:30"``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30))
EPOCH_V1 = "1970-01-01 05:30:00"
EPOCH_V3 = "1970-01-01 05:30:00+05:30"
_V1_FORMAT = "%Y-%m-%d %H:%M:%S"


def v1_date(ts: float) -> str:
    """POSIX timestamp -> v1 ``YYYY-MM-DD HH:mm:ss`` in IST."""
    return datetime.fromtimestamp(ts, IST).strftime(_V1_FORMAT)


def v3_date(ts: float) -> str:
    """POSIX timestamp -> v3 ``YYYY-MM-DD HH:mm:ss+05:30``."""
    return v1_date(ts) + "+05:30"


def rfc3339(ts: float) -> str:
    """POSIX timestamp -> ``2018-08-22T15:19:23Z`` (heartbeat, v2)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_v1_date(text: str) -> float:
    """v1 ``YYYY-MM-DD HH:mm:ss`` (IST) -> POSIX timestamp; ValueError when malformed."""
    return datetime.strptime(text.strip(), _V1_FORMAT).replace(tzinfo=IST).timestamp()
