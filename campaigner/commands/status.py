"""``campaigner status FILE``: where a campaign stands, from its journal (read-only)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from campaigner.store.journal import Journal
from campaigner.store.locate import journal_path
from campaigner.store.queries import campaign_status

NAME = "status"
HELP = "Show a campaign's progress: outcomes, calls in flight, next retries."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    journal = Journal.read(journal_path(args.file))
    try:
        status = campaign_status(journal)
        # contacts given another chance (``campaigner reopen``): who did it and why
        status["reopened"] = [
            {"at": at, "message": message}
            for at, message in journal.conn.execute(
                "SELECT at, message FROM run_log WHERE kind = 'reopened' ORDER BY id"
            )
        ]
    finally:
        journal.close()
    if args.format == "json":
        print(json.dumps(status, indent=2, default=str))
        return 0
    tz = ZoneInfo(status["timezone"])

    def when(epoch: float | None) -> str:
        if epoch is None:
            return "-"
        return datetime.fromtimestamp(epoch, UTC).astimezone(tz).strftime("%a %d %b %H:%M %Z")

    print(f"campaign     {status['campaign']} ({status['api']}, {status['mode']})")
    last = status["last_run"]
    if last:
        ended = when(last["ended_at"]) if last["ended_at"] else "still running (or killed)"
        print(f"last run     {when(last['started_at'])} -> {ended} [{last['exit_reason'] or '-'}]")
    print(f"contacts     {status['contacts']:,}")
    for outcome, count in status["outcomes"].items():
        print(f"  {outcome:<16}{count:>8,}")
    print(f"calls        {status['calls']:,} placed, {status['in_flight']:,} in flight")
    for event in status["reopened"]:
        print(f"reopened     {when(event['at'])}: {event['message']}")
    if status["next_retries"]:
        print("next retries")
        for retry in status["next_retries"]:
            print(f"  {when(retry['at'])}  {retry['phone']} (attempt {retry['attempt']})")
    return 0
