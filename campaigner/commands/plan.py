"""``campaigner plan FILE``: what a campaign will do, cost and take, without contacting anything."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from campaigner.campaign.loader import load_campaign
from campaigner.compile.plan import Plan, ScreeningPlan, build_plan, first_calls, minutes_text
from campaigner.engine.screen import ScreeningCount
from campaigner.errors import UsageError
from campaigner.exotel import build_connect
from campaigner.settings import load_exotel_settings

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
    plan = build_plan(loaded, now, args.call_minutes, facts)
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
