"""ExoPhones: their connectivity over time, v2 details, and heartbeat payloads (000 page).

Health changes come from the scenario's scripted timeline (applied lazily whenever the
simulator looks at the board, so no task is needed) and from test hooks. An ExoPhone
whose outgoing connectivity is down still accepts connect requests, but its calls never
dial the first leg (v3 ``from_leg_no_dial``; v1 ``failed``); ``partial_network_outage``
does that to half of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaigner.simulator.dates import rfc3339
from campaigner.simulator.phones import to_e164
from campaigner.simulator.scenario import ExoPhone, Health, Scenario

V2_DATA_FIELDS = (
    "sid",
    "date_created",
    "date_updated",
    "friendly_name",
    "account_sid",
    "phone_number",
    "capabilities",
    "country",
    "region",
    "one_time_price",
    "rental_price",
    "incoming_rate",
    "incoming_pulse",
    "currency",
    "number_type",
    "vanity_number",
    "voice_url",
    "sms_url",
    "uri",
    "connectivity",
)


@dataclass(slots=True)
class PhoneState:
    """Current connectivity of one ExoPhone and when it last changed (POSIX time)."""

    incoming: Health
    outgoing: Health
    changed: float


class ExoPhoneBoard:
    """The account's ExoPhones and their health at the current trio time."""

    def __init__(self, scenario: Scenario, start: float, wall_start: float) -> None:
        self.account_sid = scenario.account.sid
        self.phones = {phone.sid: phone for phone in scenario.exophones}
        self._by_number = {phone.number: phone for phone in scenario.exophones}
        self.state = {
            p.sid: PhoneState(p.incoming, p.outgoing, wall_start) for p in scenario.exophones
        }
        self._wall_start = wall_start
        scale = scenario.time_scale
        timeline = sorted(scenario.heartbeat.timeline, key=lambda change: change.at)
        self._timeline = [(start + change.at / scale, change) for change in timeline]
        self._next = 0

    def advance(self, now: float, wall: float) -> None:
        """Apply every scripted change due at or before trio time ``now``."""
        while self._next < len(self._timeline) and self._timeline[self._next][0] <= now:
            change = self._timeline[self._next][1]
            self.set(change.exophone, change.incoming, change.outgoing, wall)
            self._next += 1

    def set(self, sid: str, incoming: Health | None, outgoing: Health | None, wall: float) -> None:
        """Change one ExoPhone's connectivity (None leaves a direction as it is)."""
        state = self.state[sid]
        state.incoming = incoming or state.incoming
        state.outgoing = outgoing or state.outgoing
        state.changed = wall

    def set_alternates(self, sid: str, alternates: tuple[str, ...]) -> None:
        """Replace the alternates an ExoPhone names (SIDs of other ExoPhones)."""
        unknown = [alt for alt in alternates if alt not in self.phones]
        if unknown:
            raise KeyError(f"unknown ExoPhone SIDs: {', '.join(unknown)}")
        self.phones[sid] = self.phones[sid].model_copy(update={"alternates": alternates})

    def find(self, raw: str) -> ExoPhone | None:
        """The ExoPhone a CallerId/virtual_number names (E.164 or local format)."""
        e164 = to_e164(raw)
        return self._by_number.get(e164) if e164 else None

    def v2_data(self, sid: str, wall: float) -> dict[str, Any]:
        """The ``data`` block of v2 "Get details of an ExoPhone"."""
        phone, state = self.phones[sid], self.state[sid]
        alternates = [self.phones[alt].number for alt in phone.alternates] or None
        checked = rfc3339(wall)
        base = f"https://my.exotel.com/{self.account_sid}/exoml"
        return {
            "sid": sid,
            "date_created": rfc3339(self._wall_start),
            "date_updated": rfc3339(state.changed),
            "friendly_name": sid,
            "account_sid": self.account_sid,
            "phone_number": phone.number,
            "capabilities": {"voice": True},
            "country": "IN",
            "region": "MH",
            "one_time_price": "0.000000",
            "rental_price": "499.000000",
            "incoming_rate": "0.000000",
            "incoming_pulse": "60",
            "currency": "INR",
            "number_type": "Landline",
            "vanity_number": False,
            "voice_url": f"{base}/start_voice/0",
            "sms_url": f"{base}/start_sms/0",
            "uri": f"/v2/accounts/{self.account_sid}/incoming-phone-numbers/{sid}",
            "connectivity": {
                "incoming_call": _direction(state.incoming, checked, alternates),
                "outgoing_call": _direction(state.outgoing, checked, alternates),
            },
        }

    def heartbeat(self, wall: float, too_large: bool) -> dict[str, Any]:
        """One heartbeat payload reflecting current health (000 page, scenarios 1-3)."""
        stamp = rfc3339(wall)
        if too_large:
            return _heartbeat(stamp, "PAYLOAD_TOO_LARGE", [], [], {})
        incoming = [sid for sid, s in self.state.items() if s.incoming != "active"]
        outgoing = [sid for sid, s in self.state.items() if s.outgoing != "active"]
        affected = [sid for sid in self.state if sid in incoming or sid in outgoing]
        if not affected:
            status = "OK"
        else:
            status = "CRITICAL" if len(affected) == len(self.state) else "WARNING"
        data = {sid: {"phone_number": self.phones[sid].number} for sid in affected}
        return _heartbeat(stamp, status, incoming, outgoing, data)


def _direction(status: Health, checked: str, alternates: list[str] | None) -> dict[str, Any]:
    return {"status": status, "last_check_time": checked, "alternate_exophone": alternates}


def _heartbeat(
    stamp: str, status: str, incoming: list[str], outgoing: list[str], data: dict[str, Any]
) -> dict[str, Any]:
    # docs/exotel/quirks.md: with nothing affected, the *_affected lists are null
    return {
        "timestamp": stamp,
        "status_type": status,
        "incoming_affected": incoming or None,
        "outgoing_affected": outgoing or None,
        "data": data,
    }
