"""``campaigner health FILE``: each caller ID's connectivity, from v2 ExoPhone details.

One v2 "Get details of an ExoPhone" request per caller ID, spaced as a run spaces
them (000: the endpoint is throttled separately and polling it is discouraged), plus
the newest heartbeat journaled in the campaign's state directory, if any. Exits 1
when a caller ID's outgoing connectivity is not ``active`` (a run would not use it).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

import httpx
import trio

from campaigner.campaign.loader import load_campaign
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.engine.exotel_session import open_exotel
from campaigner.engine.health_monitor import V2Throttle
from campaigner.engine.preflight import check_exotel
from campaigner.errors import EXIT_FAILURE, EXIT_OK, AuthError, ExotelError
from campaigner.exotel.models import ExoPhoneDetails
from campaigner.settings import ExotelSettings, load_exotel_settings
from campaigner.store.shared import SharedState, StoredHeartbeat

NAME = "health"
HELP = "Show each caller ID's connectivity (v2 ExoPhone details) and the last heartbeat."


@dataclass(frozen=True, slots=True)
class CallerIdHealth:
    """One caller ID and what v2 details said (or why they could not be read)."""

    number: str
    sid: str
    details: ExoPhoneDetails | None
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.details is not None and self.details.outgoing_status == "active"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    loaded = load_campaign(args.file)
    settings = load_exotel_settings()
    settings.require_credentials()
    # Unreachable or refused: one line and exit 5, before a request per caller ID.
    trio.run(partial(check_exotel, loaded, settings, datetime.now(UTC)))
    found = trio.run(partial(check_caller_ids, loaded, settings))
    beat = last_heartbeat(loaded, settings.account_sid or "")
    tz = ZoneInfo(loaded.campaign.schedule.timezone)
    if args.format == "json":
        print(json.dumps(as_json(found, beat), indent=2, default=str))
    else:
        print(render_text(found, beat, tz))
    return EXIT_OK if all(h.usable for h in found) else EXIT_FAILURE


async def check_caller_ids(
    loaded: LoadedCampaign,
    settings: ExotelSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[CallerIdHealth]:
    """v2 details of every caller ID, within the pacing budget and the v2 throttle."""
    throttle = V2Throttle()
    found: list[CallerIdHealth] = []
    rpm = loaded.campaign.pacing.requests_per_minute
    async with open_exotel(settings, rpm, transport=transport) as exotel:
        for cid in loaded.caller_ids:
            await throttle.wait()
            try:
                details = await exotel.client.exophone_details(cid.sid)
            except AuthError:
                raise
            except ExotelError as exc:
                found.append(CallerIdHealth(cid.number, cid.sid, None, str(exc)))
            else:
                found.append(CallerIdHealth(cid.number, cid.sid, details))
    return found


def last_heartbeat(loaded: LoadedCampaign, account: str) -> StoredHeartbeat | None:
    shared = SharedState.read(loaded.state_dir)
    if shared is None:
        return None
    with shared:
        return shared.latest_heartbeat(account)


def render_text(found: list[CallerIdHealth], beat: StoredHeartbeat | None, tz: ZoneInfo) -> str:
    """The table ``campaigner health`` prints."""
    lines = [f"{'caller ID':<16} {'SID':<14} {'outgoing':<24} {'incoming':<24} alternates"]
    for h in found:
        if h.details is None:
            lines.append(f"{h.number:<16} {h.sid:<14} unknown: {h.error}")
            continue
        d = h.details
        alternates = ", ".join(d.outgoing_alternates) or "-"
        lines.append(
            f"{h.number:<16} {h.sid:<14} {d.outgoing_status or '-':<24} "
            f"{d.incoming_status or '-':<24} {alternates}"
        )
    if beat is None:
        lines.append("last heartbeat: none journaled in this state directory")
    else:
        when = datetime.fromtimestamp(beat.timestamp, UTC).astimezone(tz)
        affected = ", ".join(beat.outgoing_affected) or "none"
        lines.append(
            f"last heartbeat: {when:%a %d %b %H:%M %Z}, {beat.status_type}; "
            f"outgoing affected: {affected}"
        )
    return "\n".join(lines)


def as_json(found: list[CallerIdHealth], beat: StoredHeartbeat | None) -> dict[str, object]:
    return {
        "caller_ids": [
            {
                "number": h.number,
                "sid": h.sid,
                "outgoing": h.details.outgoing_status if h.details else None,
                "incoming": h.details.incoming_status if h.details else None,
                "alternates": list(h.details.outgoing_alternates) if h.details else [],
                "last_check_time": h.details.last_check_time if h.details else None,
                "error": h.error,
            }
            for h in found
        ],
        "last_heartbeat": None
        if beat is None
        else {
            "timestamp": datetime.fromtimestamp(beat.timestamp, UTC).isoformat(),
            "status_type": beat.status_type,
            "outgoing_affected": list(beat.outgoing_affected),
        },
    }
