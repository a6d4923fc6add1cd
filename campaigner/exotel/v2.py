"""Exotel v2 ExoPhone details (000): the request and its envelope.

``GET /v2/accounts/<sid>/incoming-phone-numbers/<exophone_sid>`` on the v1/v2 host. 000:
Exotel throttles this endpoint separately with 429 and discourages polling it; the
heartbeat is the primary signal and this is the fallback (``PAYLOAD_TOO_LARGE``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict

from campaigner.exotel.models import ExoPhoneDetails
from campaigner.exotel.values import Rfc3339OrNone, Text, blank_to_none
from campaigner.exotel.wire import WireRequest

ACCEPT_JSON = (("Accept", "application/json"),)


def build_exophone_details(exophone_sid: str, *, account_sid: str, base: str) -> WireRequest:
    """``GET /v2/accounts/<sid>/incoming-phone-numbers/<exophone_sid>``."""
    url = (
        f"{base}/v2/accounts/{quote(account_sid, safe='')}"
        f"/incoming-phone-numbers/{quote(exophone_sid, safe='')}"
    )
    return WireRequest(method="GET", url=url, headers=ACCEPT_JSON)


def _alternates(value: object) -> object:
    # 000: "alternate ExoPhones in JSON array format ... or null". The element shape is not
    # shown, so accept numbers as text or objects naming a phone_number or sid.
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise ValueError("alternate_exophone must be a list or null")
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("phone_number") or item.get("sid")
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise ValueError("alternate_exophone entries must be numbers")
        out.append(str(item))
    return out


class _V2(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Connectivity(_V2):
    status: Text = None
    last_check_time: Rfc3339OrNone = None
    alternate_exophone: Annotated[list[str], BeforeValidator(_alternates)] = []


class Connections(_V2):
    incoming_call: Connectivity = Connectivity()
    outgoing_call: Connectivity = Connectivity()


class ExoPhoneData(_V2):
    sid: Annotated[str, BeforeValidator(blank_to_none)]
    phone_number: Text = None
    connectivity: Connections = Connections()

    def details(self) -> ExoPhoneDetails:
        incoming, outgoing = self.connectivity.incoming_call, self.connectivity.outgoing_call
        return ExoPhoneDetails(
            sid=self.sid,
            phone_number=self.phone_number,
            incoming_status=incoming.status,
            outgoing_status=outgoing.status,
            outgoing_alternates=tuple(outgoing.alternate_exophone),
            last_check_time=outgoing.last_check_time or incoming.last_check_time,
        )
