"""Reconciliation benchmark: what lost connect answers cost, how soon they settle, and safety.

Runs the real engine against the in-process simulator in virtual time (trio's MockClock),
v1 agent-first, ``ring_timeout: 30`` and ``time_limit: 600`` (a safe span of 16 minutes),
with 25% of connect answers lost (the call is created, the answer never arrives) and 10%
of connects and of GETs answered 5xx (half of those connects create the call anyway).
Rows: the issue's 30 contacts; 300 contacts at 20 calls at a time; and 420 s calls with
``tracking.give_up_after: 75s``, the setting that used to redial people mid-call.

For each: lost answers, bulk listing requests spent on them (the journal's ``reconcile``
requests, retries after a 5xx included) and per lost answer, seconds from the attempt to
adoption (found) or to proof of absence, lost answers ended ``unknown``, and contacts that
ever had two overlapping calls according to the simulator (must be 0).

Usage: python bench/reconcile.py [--json]   (about half a minute)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CAMPAIGN = """
name: reconcile
api: v1
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: agent_first
  agents: {agents}
contacts:
  inline: {contacts}
call: {{time_limit: 600, ring_timeout: 30}}
retry: {{max_attempts: 2, on: [busy, no_answer], backoff: {{first: 1m}}}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: {concurrency}}}
schedule:
  windows: [{{start: "00:00", end: "24:00"}}]
screening: {{dnd: call}}
tracking: {{poll_after: 1m, poll_interval: 30s, give_up_after: {give_up}}}
"""
FAULTS = {"connect_ambiguous": 0.25, "ambiguous_hold": 0, "connect_5xx": 0.1, "get_5xx": 0.1}
ROWS: list[tuple[str, int, int, str, dict[str, Any]]] = [  # row, contacts, concurrency, ...
    ("30 contacts", 30, 4, "2h", {}),
    ("300 contacts", 300, 20, "2h", {}),
    ("420 s calls, give_up_after 75s", 30, 4, "75s", {"timing": {"talk": [420, 420]}}),
]


def one(
    label: str, n: int, concurrency: int, give_up: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """Run one row and measure it."""
    import trio
    import trio.testing

    from campaigner.campaign.loader import load_campaign
    from campaigner.campaign.rules import lost_answer_span
    from campaigner.simulator import Scenario
    from tests.engine.harness import run_against_sim
    from tests.engine.invariants import contact_number

    workdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    try:
        agents = [f"+9199{i:08d}" for i in range(1, concurrency + 1)]
        numbers = [f"+9197{i:08d}" for i in range(1, n + 1)]
        path = workdir / "campaign.yaml"
        path.write_text(
            CAMPAIGN.format(
                agents=json.dumps(agents),
                contacts=json.dumps(numbers),
                concurrency=concurrency,
                give_up=give_up,
            )
        )
        span = lost_answer_span(load_campaign(path).campaign).total_seconds()
        scenario = Scenario.model_validate({"seed": 42, "faults": FAULTS, **extra})
        wall0 = time.monotonic()

        async def main() -> dict[str, Any]:
            out = await run_against_sim(path, scenario)
            journal = out.journal()
            sql = journal.conn.execute
            requests = sql("SELECT count(*) FROM requests WHERE purpose = 'reconcile'").fetchone()
            found = [r[0] for r in sql("SELECT placed_at - intent_at FROM calls WHERE adopted = 1")]
            absent = [
                r[0]
                for r in sql(
                    "SELECT resolved_at - intent_at FROM calls "
                    "WHERE state = 'not_placed' AND error_status = 0"
                )
            ]
            unknown = sql(
                "SELECT count(*) FROM calls WHERE sid IS NULL AND outcome = 'unknown'"
            ).fetchone()[0]
            by_number: dict[str, list[tuple[float, float]]] = {}
            for call in out.sim.calls():
                by_number.setdefault(contact_number(call, "agent_first"), []).append(
                    (call.created_at, call.ended_at)
                )
            overlapping = sum(
                1
                for spans in by_number.values()
                if any(b[0] < a[1] for a, b in zip(sorted(spans), sorted(spans)[1:], strict=False))
            )
            lost = out.result.stats.ambiguous
            return {
                "row": label,
                "lost_answers": lost,
                "listing_requests": requests[0],
                "requests_per_lost_answer": round(requests[0] / lost, 2) if lost else None,
                "found": len(found),
                "found_median_s": round(statistics.median(found)) if found else None,
                "found_max_s": round(max(found)) if found else None,
                "proven_absent": len(absent),
                "absent_after_s": round(min(absent)) if absent else None,
                "safe_span_s": round(span),
                "unknown": unknown,
                "contacts_with_overlapping_calls": overlapping,
                "virtual_minutes": round(trio.current_time() / 60.0, 1),
            }

        result = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        result["wall_seconds"] = round(time.monotonic() - wall0, 1)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()
    rows = [one(*row) for row in ROWS]
    columns = [
        ("row", "row"),
        ("lost", "lost_answers"),
        ("requests", "listing_requests"),
        ("per lost", "requests_per_lost_answer"),
        ("found", "found"),
        ("found median s", "found_median_s"),
        ("found max s", "found_max_s"),
        ("absent", "proven_absent"),
        ("absent after s", "absent_after_s"),
        ("unknown", "unknown"),
        ("overlaps", "contacts_with_overlapping_calls"),
        ("wall s", "wall_seconds"),
    ]
    print("| " + " | ".join(name for name, _ in columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[key]) for _, key in columns) + " |")
    if args.json:
        print(json.dumps(rows))  # one line: bench/run_all.py reads the last line


if __name__ == "__main__":
    main()
