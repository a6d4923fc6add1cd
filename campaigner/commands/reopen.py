"""``campaigner reopen FILE``: give contacts that ended a certain way another chance.

A deadline set in the past, a calling window that closed early, an outage: contacts end
``expired`` (or ``no_answer`` ...) for good, and a rerun says "done". Deleting the
journal would bring them back, and with them every contact already called: the one
thing campaigner promises never to do. So recovering is a command. It puts the
contacts back in the queue, keeping their history and attempts, and journals who
reopened what and why (a ``reopened`` event, shown by ``status`` and the report).

Outcomes that risk calling someone twice (``unknown``: the call may have been
answered; ``connected``; ``skipped``: DND, opted out or removed) are refused without
``--force``. The journal's lock makes it refuse while a run holds the campaign.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from campaigner.campaign.loader import load_campaign
from campaigner.domain import Outcome
from campaigner.errors import StateError, UsageError
from campaigner.phones import InvalidPhoneNumber, normalise
from campaigner.store.journal import Journal

NAME = "reopen"
HELP = "Put contacts that ended expired (or another outcome) back in the queue, with a reason."
EPILOG = """\
examples:
  campaigner reopen campaigns/nov.yaml --reason "deadline fixed"      # expired ones
  campaigner reopen campaigns/nov.yaml --outcome no_answer --contact +919876543210 \\
      --reason "asked to be called back"
  campaigner reopen campaigns/nov.yaml --outcome unknown --force --dry-run --reason "audit"
"""

# Outcomes whose contact was not reached: another call cannot be a second conversation.
SAFE = frozenset({"expired", "busy", "no_answer", "failed", "agent_unanswered"})
RISKS = {
    "unknown": "its call may have been answered",
    "connected": "it was reached",
    "skipped": "it was skipped on purpose (DND, opt-out, duplicate or removed)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument(
        "--outcome",
        action="append",
        choices=[o.value for o in Outcome],
        metavar="OUTCOME",
        help="reopen contacts that ended with this outcome (repeatable; default: expired). "
        "unknown, connected and skipped need --force",
    )
    parser.add_argument(
        "--contact",
        action="append",
        default=[],
        metavar="PHONE",
        help="only this contact (its number, as in the file or in E.164; repeatable)",
    )
    parser.add_argument(
        "--reason", required=True, help="why, in words: journaled with the contacts reopened"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow outcomes that risk calling someone twice (unknown, connected, skipped)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be reopened; change nothing"
    )


def run(args: argparse.Namespace) -> int:
    outcomes = sorted(set(args.outcome or ["expired"]))
    risky = [o for o in outcomes if o not in SAFE]
    if risky and not args.force:
        why = "; ".join(f"{o}: {RISKS.get(o, 'not a final outcome')}" for o in risky)
        raise UsageError(
            f"reopening {', '.join(risky)} may call someone twice ({why}): "
            "pass --force if that is what you mean"
        )
    if not args.reason.strip():
        raise UsageError("--reason must say why (it is journaled)")
    loaded = load_campaign(args.file)
    region = loaded.campaign.contacts.default_region
    phones = [_phone(raw, region) for raw in args.contact]
    now = datetime.now(UTC)
    if not loaded.journal_path.exists():
        raise StateError(f"{loaded.journal_path}: no journal yet (the campaign has not been run)")
    with Journal.open(loaded.journal_path) as journal:
        ids = _matching(journal, outcomes, phones)
        counts = _by_outcome(journal, ids)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        if args.dry_run or not ids:
            verb = "would reopen" if args.dry_run else "nothing to reopen:"
            print(f"{verb} {len(ids)} contacts ({summary})")
            return 0
        with journal.transaction() as conn:
            conn.executemany(
                "UPDATE contacts SET state = 'ready', outcome = NULL, reason = NULL, "
                "next_at = 0, screened = CASE WHEN outcome = 'skipped' THEN 0 ELSE screened END, "
                "updated_at = ? WHERE id = ?",
                [(now.timestamp(), i) for i in ids],
            )
        journal.log(
            now.timestamp(),
            "reopened",
            f"{len(ids)} contacts reopened ({summary}): {args.reason.strip()}",
            count=len(ids),
            outcomes=counts,
            reason=args.reason.strip(),
            contacts=phones,
            forced=bool(risky),
        )
    print(f"reopened {len(ids)} contacts ({summary}); `campaigner run {args.file}` calls them")
    if any("the deadline has passed" in w.message for w in loaded.warnings):
        print(
            f"{args.file}: the deadline has still passed: fix schedule.deadline first",
            file=sys.stderr,
        )
    return 0


def _phone(raw: str, region: str) -> str:
    try:
        return normalise(raw, region)
    except InvalidPhoneNumber as exc:
        raise UsageError(f"--contact {raw}: not a phone number ({exc})") from None


def _matching(journal: Journal, outcomes: list[str], phones: list[str]) -> list[int]:
    """Done contacts still in the file with one of ``outcomes`` and no call open."""
    marks = ",".join("?" * len(outcomes))
    sql = (
        f"SELECT id, phone FROM contacts WHERE state = 'done' AND in_file = 1 "
        f"AND outcome IN ({marks}) AND NOT EXISTS "
        "(SELECT 1 FROM calls WHERE calls.contact_id = contacts.id AND calls.open = 1) "
        "ORDER BY seq"
    )
    rows = journal.conn.execute(sql, outcomes).fetchall()
    if not phones:
        return [int(r[0]) for r in rows]
    wanted = set(phones)
    found = [int(r[0]) for r in rows if r[1] in wanted]
    missing = wanted - {r[1] for r in rows}
    if missing:
        raise UsageError(
            f"--contact {', '.join(sorted(missing))}: not a contact of this campaign that "
            f"ended {' or '.join(outcomes)} (see `campaigner export`)"
        )
    return found


def _by_outcome(journal: Journal, ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for outcome, n in journal.conn.execute(
            f"SELECT outcome, count(*) FROM contacts WHERE id IN ({marks}) GROUP BY 1", chunk
        ):
            counts[str(outcome)] = counts.get(str(outcome), 0) + int(n)
    return counts
