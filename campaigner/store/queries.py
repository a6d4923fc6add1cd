"""Read-only questions about a journal: status and the per-contact export.

Streams rows (export handles hundreds of thousands of contacts in constant
memory) and formats times in the campaign's own timezone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from campaigner.store.journal import Journal
from campaigner.store.run_settings import RunSettings

STATES = ("ready", "active")


def campaign_status(journal: Journal, retries: int = 5) -> dict[str, Any]:
    """Counts by outcome, calls in flight, the next retries, the last run."""
    conn = journal.conn
    outcomes: dict[str, int] = {}
    for key, count in conn.execute(
        "SELECT CASE WHEN state = 'done' THEN outcome ELSE "
        "CASE state WHEN 'ready' THEN 'pending' ELSE 'in call' END END, count(*) "
        "FROM contacts GROUP BY 1 ORDER BY 2 DESC"
    ):
        outcomes[str(key)] = int(count)
    last = conn.execute(
        "SELECT started_at, ended_at, exit_reason FROM runs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    next_retries = [
        {"phone": r[0], "at": r[1], "attempt": r[2] + 1}
        for r in conn.execute(
            "SELECT phone, next_at, attempts FROM contacts WHERE state = 'ready' AND next_at > 0 "
            "ORDER BY next_at LIMIT ?",
            (retries,),
        )
    ]
    return {
        "campaign": journal.get_meta("campaign"),
        "api": journal.get_meta("api"),
        "mode": journal.get_meta("mode"),
        "timezone": RunSettings.read(journal).timezone,
        "contacts": sum(outcomes.values()),
        "outcomes": outcomes,
        "calls": conn.execute("SELECT count(*) FROM calls WHERE sid IS NOT NULL").fetchone()[0],
        "in_flight": conn.execute("SELECT count(*) FROM calls WHERE open = 1").fetchone()[0],
        "next_retries": next_retries,
        "last_run": dict(zip(("started_at", "ended_at", "exit_reason"), last, strict=True))
        if last
        else None,
    }


CALL_FIELDS = (
    "sid",
    "status",
    "outcome",
    "reason",
    "attempt",
    "started_at",
    "ended_at",
    "talk_time",
    "recording_url",
    "caller_id",
    "agent",
    "resolved_by",
    "adopted",
)


def export_records(journal: Journal, timezone: str) -> Iterator[dict[str, Any]]:
    """One record per contact (and per skipped row), with every call it received.

    Fields are documented in docs/operations.md ("Export"): operators script
    against them.
    """
    tz = ZoneInfo(timezone)
    conn = journal.conn
    calls = conn.execute(
        "SELECT contact_id, sid, exotel_status, outcome, reason, attempt, started_at, ended_at, "
        "talk_time, recording_url, caller_id, agent, resolved_by, adopted FROM calls "
        "WHERE sid IS NOT NULL ORDER BY contact_id, id"
    )
    pending = next(calls, None)
    for row in conn.execute("SELECT * FROM contacts ORDER BY seq"):
        mine: list[dict[str, Any]] = []
        while pending is not None and pending[0] < row["id"]:
            pending = next(calls, None)
        while pending is not None and pending[0] == row["id"]:
            mine.append(_call(pending, tz))
            pending = next(calls, None)
        yield {
            "phone": row["phone"],
            "outcome": row["outcome"] if row["state"] == "done" else None,
            "reason": row["reason"],
            "state": row["state"],
            "attempts": row["attempts"],
            "source": row["source"],
            "variables": json.loads(row["variables"]),
            "calls": mine,
        }
    for row in conn.execute("SELECT * FROM skipped_rows ORDER BY id"):
        yield {
            "phone": row["raw_phone"],
            "outcome": "skipped",
            "reason": row["reason"],
            "state": "done",
            "attempts": 0,
            "source": row["source"],
            "variables": {},
            "calls": [],
        }


def _call(row: Any, tz: ZoneInfo) -> dict[str, Any]:
    values = dict(zip(CALL_FIELDS, row[1:], strict=True))
    for key in ("started_at", "ended_at"):
        values[key] = _iso(values[key], tz)
    values["adopted"] = bool(values["adopted"])
    return values


def _iso(epoch: float | None, tz: ZoneInfo) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).isoformat(timespec="seconds")
