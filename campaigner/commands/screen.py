"""``campaigner screen FILE``: what a run would skip, and why, before anything dials.

Looks every contact's number up (v1 number metadata, within the campaign's pacing
budget; numbers already in the shared cache cost nothing), applies the opt-out lists
and the frequency cap / minimum gap, and prints the contacts a run would skip or
defer. The cache it fills is the one ``campaigner run`` reads, so screening a large
list the day before leaves the run its whole budget for dialing.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from functools import partial

import trio

from campaigner.campaign.loader import load_campaign
from campaigner.engine.preflight import check_exotel
from campaigner.engine.screen_command import ScreenResult, screen_campaign
from campaigner.settings import load_exotel_settings

NAME = "screen"
HELP = "Screen a campaign's contacts (DND, opt-outs, frequency cap) ahead of its run."

REASONS = {
    "dnd": "on the DND registry (screening.dnd)",
    "opted_out": "opted out (screening.opt_out)",
    "frequency_cap": "frequency cap / minimum gap: no window left before it allows a call",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    loaded = load_campaign(args.file)
    settings = load_exotel_settings()
    settings.require_credentials()
    # Unreachable or refused: one line and exit 5, not a failed lookup per contact.
    trio.run(partial(check_exotel, loaded, settings, datetime.now(UTC)))
    progress = None if args.quiet else partial(print, file=sys.stderr)
    result = trio.run(partial(screen_campaign, loaded, settings, progress=progress))
    if args.format == "json":
        print(json.dumps(as_json(result), indent=2))
    else:
        print(render_text(result, loaded.campaign.screening.dnd, loaded.campaign.name))
    return 0


def render_text(result: ScreenResult, policy: str, name: str) -> str:
    """The report ``campaigner screen`` prints."""
    lines = [
        f"screening {name}: {result.contacts:,} contacts",
        f"  DND ({policy})      {result.count('dnd'):,} would be skipped "
        f"({result.looked_up:,} looked up, {result.from_cache:,} from the cache"
        + (f", {result.unavailable:,} unavailable: called" if result.unavailable else "")
        + ")",
        f"  opted out       {result.count('opted_out'):,}",
        f"  frequency cap   {result.count('frequency_cap'):,} would be skipped, "
        f"{len(result.deferred):,} deferred",
    ]
    if result.lookup_failures:
        lines.append(
            f"  {result.lookup_failures:,} lookups failed: screen again, or the run retries them"
        )
    if result.skipped:
        lines.append("would skip:")
        lines += [f"  {v.phone:<16} {REASONS[v.reason]}  ({v.source})" for v in result.skipped]
    if result.deferred:
        lines.append("would defer (called recently by campaigns sharing this state):")
        lines += [
            f"  {v.phone:<16} until {v.until:%a %d %b %H:%M %Z}  ({v.source})"
            for v in result.deferred
            if v.until is not None
        ]
    return "\n".join(lines)


def as_json(result: ScreenResult) -> dict[str, object]:
    """``--format json``: counts and every contact skipped or deferred."""
    return {
        "contacts": result.contacts,
        "looked_up": result.looked_up,
        "from_cache": result.from_cache,
        "unavailable": result.unavailable,
        "lookup_failures": result.lookup_failures,
        "skipped": [
            {"phone": v.phone, "source": v.source, "reason": v.reason} for v in result.skipped
        ],
        "deferred": [
            {"phone": v.phone, "source": v.source, "until": v.until and v.until.isoformat()}
            for v in result.deferred
        ],
    }
