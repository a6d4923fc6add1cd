"""Journal durability: what fsyncing commits costs, per commit and per call.

The journal and the shared store write a call's intent before its POST. Whether that
survives a power cut depends on SQLite's ``synchronous`` setting in WAL mode
(campaigner.store.sqlite, ``SYNCHRONOUS``):

- ``NORMAL`` (campaigner before): fsync at checkpoints only; a power cut can roll back
  the last commits, a call's intent included;
- ``FULL`` (the default): every commit is fsynced before it returns.

For each mode and each journal size (a campaign of 2,000 contacts, and one of 288,000:
a day at the account's 200 calls a minute), this replays the journal writes of N calls
through the real Journal and SharedState methods, in the engine's order (claim, intent,
request log, SID, two callbacks, outcome: 7 commits), as fast as the disk allows, and
reports calls/s, commits/s, milliseconds per call, and what that costs at 200 calls a
minute (the share of each second the trio thread spends blocked on the journal).

Usage: python bench/journal_durability.py [--contacts 2000 288000] [--calls 400] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigner.screening.frequency import CallingRules
from campaigner.store import sqlite
from campaigner.store.journal import CallResult, ContactUpdate, Journal
from campaigner.store.shared import SharedState

MODES = ("NORMAL", "FULL")
COMMITS_PER_CALL = 7
RATE_PER_MINUTE = 200
T0 = 1795404600.0
RULES = CallingRules(cap_calls=3, cap_per=7 * 86_400.0)  # a realistic cap: history is read


def build(directory: Path, contacts: int) -> Path:
    """A journal with ``contacts`` ready contacts (built once, copied for each mode)."""
    sqlite.SYNCHRONOUS = "NORMAL"
    path = directory / "template.sqlite3"
    with Journal.open(path) as journal:
        rows = (
            (f"+9198{i:08d}", f"98{i:08d}", f"people.csv:{i + 2}", {"name": f"n{i}"})
            for i in range(contacts)
        )
        journal.sync_contacts(rows, T0)
        journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def replay(template: Path, directory: Path, mode: str, calls: int) -> dict[str, Any]:
    """N calls' journal writes in ``mode``; timed from the first claim to the last outcome."""
    sqlite.SYNCHRONOUS = mode
    path = directory / f"{mode}.sqlite3"
    shutil.copyfile(template, path)
    state = directory / f"state-{mode}"
    with Journal.open(path) as journal, SharedState.open(state) as shared:
        due = journal.due_contacts(T0, calls)
        started = time.perf_counter()
        for n, contact in enumerate(due):
            at = T0 + n
            shared.claim_call(contact.phone, at, RULES, str(path))
            call_id = journal.begin_call(
                contact.id,
                1,
                api="v1",
                caller_id="+912241499102",
                agent=None,
                request={"to": contact.phone, "custom_field": f"ORD-{n}"},
                at=at,
            )
            journal.log_request(at, "connect", 200)
            sid = f"bench{n:012d}"
            journal.call_placed(call_id, sid, "in-progress", at + 0.3)
            for event in ("answered", "terminal"):
                journal.record_event(
                    at=at + 30,
                    sid=sid,
                    call_id=call_id,
                    source="callback",
                    event=event,
                    status="completed",
                    effect="applied",
                    payload={"CallSid": sid, "Status": "completed"},
                )
            journal.finish_call(
                call_id,
                CallResult("connected", "completed", "completed", "callback", at + 60),
                ContactUpdate(contact.id, 1, 0, outcome="connected", reason="completed"),
            )
        seconds = time.perf_counter() - started
    per_call_ms = seconds / len(due) * 1000
    return {
        "mode": mode,
        "calls": len(due),
        "calls_per_s": round(len(due) / seconds, 1),
        "commits_per_s": round(len(due) * COMMITS_PER_CALL / seconds, 1),
        "ms_per_call": round(per_call_ms, 2),
        # at 200 calls a minute: milliseconds per second the trio thread spends in the journal
        "busy_ms_per_s_at_200_per_min": round(per_call_ms * RATE_PER_MINUTE / 60, 1),
    }


def fsync_ms(directory: Path, samples: int = 50) -> float:
    """The disk's own fsync latency (4 KiB append, then fsync), median of ``samples``."""
    fd = os.open(directory / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for _ in range(samples):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
    return round(sorted(times)[len(times) // 2] * 1000, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[2000, 288_000])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--dir", help="where to write (default: a temporary directory)")
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    args = parser.parse_args()
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-durability-"))
    base.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    try:
        probe = fsync_ms(base)
        print(f"fsync of a 4 KiB append on {base}: {probe} ms (median)")
        print("| contacts | mode | calls/s | commits/s | ms per call | busy ms/s at 200/min |")
        print("| --- | --- | --- | --- | --- | --- |")
        for contacts in args.contacts:
            directory = base / str(contacts)
            directory.mkdir()
            template = build(directory, contacts)
            for mode in MODES:
                row = {"contacts": contacts, "fsync_ms": probe, **replay(
                    template, directory, mode, args.calls
                )}  # fmt: skip
                rows.append(row)
                print(
                    f"| {contacts:,} | {mode} | {row['calls_per_s']} | {row['commits_per_s']} "
                    f"| {row['ms_per_call']} | {row['busy_ms_per_s_at_200_per_min']} |",
                    flush=True,
                )
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
