"""``campaigner plan FILE``: what a campaign will do, cost and take, without contacting anything.

Once a campaign has run, its journal is the state the plan is made against, as
Terraform's plan is made against its state: what is done (by outcome), what is left
to call, and what the file's edits will do when ``run`` resumes (contacts added or
removed, settings changed). The journal is read, never written, so ``plan`` works
while a run is live.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from campaigner.campaign.loader import load_campaign
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.compile.plan import (
    Plan,
    ScreeningPlan,
    StateDiff,
    build_plan,
    first_calls,
    minutes_text,
)
from campaigner.engine.prepare import settings_snapshot
from campaigner.errors import UsageError
from campaigner.exotel import build_connect
from campaigner.screening.rule import ScreeningCount
from campaigner.settings import load_exotel_settings
from campaigner.store.journal import Journal
from campaigner.store.run_settings import RunSettings

NAME = "plan"
HELP = "Show what a campaign would do: contacts, API budget, duration, exact requests."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument(
        "--show",
        type=int,
        default=0,
        metavar="N",
        help="print the first N requests exactly as they would be sent (credentials redacted)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--call-minutes",
        type=float,
        default=1.5,
        metavar="M",
        help="assumed minutes a call holds its agent and slot (default 1.5)",
    )


def run(args: argparse.Namespace) -> int:
    if args.show < 0:
        raise UsageError(f"--show {args.show}: must be >= 0 (the number of requests to print)")
    if not args.call_minutes > 0:
        raise UsageError(f"--call-minutes {args.call_minutes}: must be > 0")
    now = datetime.now(UTC)
    counted, observe = ScreeningCount.observer(now.timestamp())
    try:
        loaded = load_campaign(args.file, observe=observe)  # counts screening as it reads
        facts = counted[0].facts()
    finally:
        for count in counted:
            count.close()
    plan = build_plan(loaded, now, args.call_minutes, facts, state_diff(loaded))
    settings = load_exotel_settings()
    account = settings.account_sid or "EXOTEL_ACCOUNT_SID"
    requests = [
        build_connect(spec, account_sid=account, v1_base=settings.v1_base, v3_base=settings.v3_base)
        for _, spec in first_calls(loaded, max(args.show, 0))
    ]
    if args.format == "json":
        doc: dict[str, Any] = asdict(plan)
        doc["pace"]["calls_per_minute"] = plan.pace.calls_per_minute
        doc["pace"]["bottleneck"] = plan.pace.bottleneck
        doc["warnings"] = [str(w) for w in loaded.warnings]
        doc["requests"] = [
            {
                "method": r.method,
                "url": r.url,
                "headers": dict(r.all_headers()),
                "form": dict(r.form) if r.form is not None else None,
                "json": r.json_body,
            }
            for r in requests
        ]
        print(json.dumps(doc, indent=2, default=str))
        return 0
    for warning in loaded.warnings:
        print(warning)
    print(render_text(plan))
    if plan.state is not None:
        print(render_state(plan.state))
    for i, request in enumerate(requests, 1):
        print(f"\n# request {i} of {len(requests)}")
        print(request.render(redact=True))
    return 0


def render_text(plan: Plan) -> str:
    """The human summary printed by ``campaigner plan``."""
    tz = ZoneInfo(plan.timezone)

    def when(value: datetime | None) -> str:
        if value is None:
            return "never (no calling window left before the deadline)"
        return value.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")

    lines = [
        f"campaign      {plan.name} (api {plan.api}, {plan.mode})",
        f"contacts      {plan.contacts:,} to call"
        f" ({plan.invalid:,} invalid skipped, {plan.duplicates:,} duplicates merged)",
        f"caller IDs    {len(plan.caller_ids)}: {', '.join(plan.caller_ids)} (in rotation)",
    ]
    if plan.agents:
        lines.append(f"agents        {len(plan.agents)}, one call each at a time")
    lines += [
        f"budget        {plan.requests_per_minute} requests/minute (Exotel allows 200 per account);"
        f" at most {plan.max_concurrent_calls} calls at once",
        f"dials         {plan.dials_first:,} first attempts;"
        f" at most {plan.dials_worst:,} with {plan.max_attempts} attempts each",
        f"pace          {plan.pace.calls_per_minute:.1f} calls/minute"
        f" (limited by {plan.pace.bottleneck})",
        f"calling time  {minutes_text(plan.first_attempt_minutes)} for first attempts,"
        f" up to {minutes_text(plan.worst_case_minutes)} with every retry",
        f"starts        {when(plan.starts)}",
        f"finishes      {when(plan.finishes)} (first attempts);"
        f" {when(plan.worst_finishes)} at worst",
    ]
    if plan.deadline is not None:
        verdict = "fits" if plan.fits_deadline else "does NOT fit: contacts left will expire"
        lines.append(f"deadline      {when(plan.deadline)}: first attempts {verdict}")
    lines.append(
        f"callbacks     {plan.callback_url}"
        if plan.callback_url
        else "callbacks     none (no callbacks.public_url): calls are tracked by polling only"
    )
    if plan.screening is not None:
        lines += screening_lines(plan.screening)
    return "\n".join(lines)


def screening_lines(s: ScreeningPlan) -> list[str]:
    """DND policy, what the shared cache already knows, opt-outs, rules and their cost."""
    if s.dnd == "call":
        dnd = f"DND numbers are called (screening.dnd: call); {s.known_dnd:,} known DND"
    else:
        dnd = (
            f"{s.dnd}: {s.known_dnd:,} known DND in the cache ({s.dnd_skipped:,} skipped);"
            f" {s.lookups:,} lookups from the budget"
        )
    lines = [f"DND           {dnd}", f"opted out     {s.opted_out:,} contacts (not called)"]
    rules = [r for r in (s.frequency_cap, s.min_gap and f"at least {s.min_gap} apart") if r]
    if rules:
        lines.append(
            f"frequency     {', '.join(rules)} (across campaigns sharing the state directory);"
            f" {s.held_back:,} contacts held back now"
        )
    return lines


def state_diff(loaded: LoadedCampaign) -> StateDiff | None:
    """The file against its journal; None when the campaign has never run.

    One pass over the file's contacts against the journal's (held as a dict of phone
    to state: a few hundred bytes a contact, only when a journal exists).
    """
    path = loaded.journal_path
    if not path.exists():
        return None
    with Journal.read(path) as journal:
        known: dict[str, tuple[str, str | None, bool]] = {
            str(phone): (str(state), outcome, bool(in_file))
            for phone, state, outcome, in_file in journal.conn.execute(
                "SELECT phone, state, outcome, in_file FROM contacts"
            )
        }
        previous = RunSettings.read(journal).raw
        sha = journal.get_meta("sha256")
        row = journal.conn.execute(
            "SELECT exit_reason, ended_at FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    last_run = None if row is None else (row[0] or "still running, or killed")
    done: Counter[str] = Counter()
    left = in_flight = new = 0
    for contact in loaded.iter_contacts():
        entry = known.pop(contact.phone, None)
        if entry is None:
            new += 1
            left += 1
        elif entry[0] == "done":
            done[entry[1] or "unknown"] += 1
        else:
            left += 1
            in_flight += entry[0] == "active"
    removed = sum(1 for state, _, in_file in known.values() if state == "ready" and in_file)
    current = json.loads(json.dumps(settings_snapshot(loaded), sort_keys=True, default=str))
    changed = sorted(
        k
        for k in set(previous) | set(current)
        if k != "contacts" and previous.get(k) != current.get(k)
    )
    return StateDiff(
        journal=str(path),
        last_run=last_run,
        done=dict(sorted(done.items())),
        left=left,
        in_flight=in_flight,
        new=new,
        removed=removed,
        file_changed=sha != loaded.sha256,
        changed=tuple(changed) if sha != loaded.sha256 else (),
    )


def render_state(d: StateDiff) -> str:
    """What the journal says, and what the file's edits will do when ``run`` resumes."""
    total = sum(d.done.values())
    outcomes = ", ".join(f"{k} {v:,}" for k, v in d.done.items()) or "none yet"
    lines = [
        f"journal       {d.journal} (last run: {d.last_run or 'none'})",
        f"done          {total:,} contacts final: {outcomes}",
    ]
    if d.left:
        flight = f" ({d.in_flight:,} were in a call: followed first)" if d.in_flight else ""
        lines.append(f"left          {d.left:,} to call{flight}")
    else:
        lines.append(
            "left          nothing left to call: every contact has a final outcome "
            "(`campaigner reopen` gives some another chance)"
        )
    if d.file_changed:
        edits = [
            f"{d.new:,} new contacts (will be dialed)",
            f"{d.removed:,} removed (will not be dialed)",
        ]
        if d.changed:
            edits.append("settings changed: " + ", ".join(d.changed) + " (new calls only)")
        lines.append("file changes  " + "; ".join(edits))
    else:
        lines.append("file changes  none since the last run")
    return "\n".join(lines)
