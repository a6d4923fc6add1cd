"""v3 (and v2) wire formats: the envelope, ``call_details`` over time, ``leg_details``.

Quirks from 002 and docs/exotel/quirks.md kept on purpose: ``direction`` is ``outbound`` (not
``outbound-api``), the POST answer's ``virtual_number`` is local (``0224...``) while GETs
and callbacks use E.164, an active call's ``end_time`` is epoch zero
(``1970-01-01 05:30:00+05:30``), and ``total_duration`` may be null on a terminal call
while ``total_talk_time`` is set.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from campaigner.simulator.dates import EPOCH_V3, v3_date
from campaigner.simulator.phones import national
from campaigner.simulator.scenario import Scenario
from campaigner.simulator.timeline import SimCall, v3_status
from campaigner.simulator.v1_wire import DRIFT_V3_TOTAL_NULL, last_change, recording_url

CALL_DETAILS_FIELDS = (
    "sid",
    "direction",
    "virtual_number",
    "state",
    "status",
    "legs",
    "created_time",
    "updated_time",
    "start_time",
    "end_time",
    "total_duration",
    "total_talk_time",
    "custom_field",
    "app_id",
    "app_name",
    "digits",
    "recordings",
)

# 002 legs: leg status is one of in-progress / completed / failed / no-answer.
_LEG_STATUS = {"completed": "completed", "no-answer": "no-answer", "canceled": "no-answer"}


def envelope(
    request_id: str, method: str, code: int, data_key: str, data: Any, error: Any = None
) -> dict[str, Any]:
    """The v3 envelope: ``response`` holds code, error_data, status and the data block."""
    return {
        "request_id": request_id,
        "method": method,
        "http_code": code,
        "metadata": None,
        "response": {
            "code": code,
            "error_data": error,
            "status": "success" if error is None else "failure",
            data_key: data,
        },
    }


def error_data(code: int, description: str, message: str | None = None) -> dict[str, Any]:
    """``error_data {code, description, message}`` as the v3 error-code table has them."""
    return {"code": code, "description": description, "message": message or description}


def json_response(status: int, body: dict[str, Any]) -> httpx.Response:
    """A JSON answer with the given HTTP status."""
    return httpx.Response(
        status, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )


def call_details(
    call: SimCall, x: float, scenario: Scenario, *, posted: bool = False, event: str = ""
) -> dict[str, Any]:
    """``call_details`` at offset ``x``: for a GET, the POST answer, or a callback event.

    ``event="terminal"`` shows the finished call at once (the callback is sent when the
    call ends); a GET shows ``state: active`` until post-call processing is done, i.e.
    for ``record_finalize_delay`` after the end (002: "active: call is not yet over OR
    post call processing data is yet to be processed").
    """
    finished = event == "terminal" or (
        not posted and not event and x >= call.end + scenario.timing.record_finalize_delay
    )
    account = scenario.account.sid
    details: dict[str, Any] = {
        "sid": call.sid,
        "direction": "outbound",
        "virtual_number": national(call.caller) if posted else call.caller,
        "state": "terminal" if finished else "active",
        "status": v3_status(call) if finished else None,
        "legs": f"/v3/accounts/{account}/calls/{call.sid}/legs",
        "created_time": v3_date(call.wall0),
        "updated_time": v3_date(call.wall0 + (0 if posted else last_change(call, x))),
        "start_time": v3_date(call.wall0 + call.q),
        "end_time": None if posted else EPOCH_V3,
        "total_duration": None,
        "total_talk_time": None,
        "custom_field": call.opts.custom_field if call.opts else None,
        "app_id": None,
        "app_name": None,
        "digits": None,
        "recordings": None,
    }
    if finished:
        url = recording_url(call, account)
        details.update(
            end_time=v3_date(call.wall0 + call.end),
            total_duration=None if call.drift & DRIFT_V3_TOTAL_NULL else call.end - call.q,
            total_talk_time=call.talk,
            recordings=[{"url": url}] if url else None,
        )
    return details


def _leg_sid(call: SimCall, n: int) -> str:
    return hashlib.blake2b(f"{call.sid}:{n}".encode(), digest_size=16).hexdigest()


def _leg(call: SimCall, n: int, x: float, start: int) -> dict[str, Any]:
    final = call.leg1 if n == 1 else call.leg2
    ended = x >= call.end
    status = _LEG_STATUS.get(final, "failed") if ended else "in-progress"
    number = call.frm if n == 1 else (call.to or "")
    return {
        "sid": _leg_sid(call, n),
        "name": None,
        "contact_uri": national(number),
        "date_created": v3_date(call.wall0 + start),
        "date_updated": v3_date(call.wall0 + (call.end if ended else last_change(call, x))),
        "status": status,
    }


def leg_details(call: SimCall, x: float, account_sid: str) -> dict[str, Any]:
    """``leg_details``: the legs dialed so far (a leg never dialed is absent)."""
    from_legs = [] if call.kind == "from_leg_no_dial" or x < call.q else [_leg(call, 1, x, call.q)]
    to_legs = []
    if call.to and call.leg2 and call.a1 is not None and x >= call.a1:
        to_legs = [{**_leg(call, 2, x, call.a1), "group_id": None, "group_name": None}]
    return {"call_sid": call.sid, "account_sid": account_sid, "from": from_legs, "to": to_legs}
