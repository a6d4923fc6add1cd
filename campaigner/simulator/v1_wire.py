"""v1 wire formats: the ``Call`` record over time, ``Details``, XML, RestException.

Everything follows 003/001 and docs/exotel/quirks.md, including the quirks a client must
survive: numbers echoed in 0-prefixed national form, ``PhoneNumberSid`` = the ExoPhone
number, ``Uri`` in several shapes, ``Duration``/``Price`` whose types drift, and the
late-finished record (``EndTime`` epoch zero, ``Duration``/``Price`` null for
``record_finalize_delay`` after the end).
"""

from __future__ import annotations

import json
import math
from typing import Any
from xml.sax.saxutils import escape

import httpx

from campaigner.simulator.dates import EPOCH_V1, v1_date
from campaigner.simulator.phones import national
from campaigner.simulator.scenario import Scenario
from campaigner.simulator.timeline import SimCall, legs_at, v1_status_at

# Drift bits (SimCall.drift), chosen per call so that one call answers consistently.
DRIFT_DURATION_STR = 1
DRIFT_PRICE_STR = 2
DRIFT_URI_SHIFT = 2  # two bits: which Uri shape
DRIFT_ANSWERED_BY = 16
DRIFT_V3_TOTAL_NULL = 32
DRIFT_ANSWERED_BY_UPPER = 64

CALL_FIELDS = (
    "Sid",
    "ParentCallSid",
    "DateCreated",
    "DateUpdated",
    "AccountSid",
    "To",
    "From",
    "PhoneNumberSid",
    "Status",
    "StartTime",
    "EndTime",
    "Duration",
    "Price",
    "Direction",
    "AnsweredBy",
    "ForwardedFrom",
    "CallerName",
    "Uri",
    "RecordingUrl",
)


def last_change(call: SimCall, x: float) -> int:
    """Offset of the last state change at or before ``x`` (for ``DateUpdated``)."""
    marks = (call.end, call.a2, call.a1, call.q)
    return next((m for m in marks if m is not None and m <= x), 0)


def recording_url(call: SimCall, account_sid: str) -> str | None:
    """Recordings exist only when Record was asked for and the call connected (003)."""
    if call.opts is None or not call.opts.record or call.talk <= 0:
        return None
    return f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/{account_sid}/{call.sid}.mp3"


def price(call: SimCall) -> float:
    """INR 1.50 per started minute of the first leg, 0 when nothing connected."""
    return math.ceil(call.leg1_on / 60) * 1.5


def _uri(call: SimCall, account_sid: str) -> str:
    # docs/exotel/quirks.md: "`Uri` has several shapes: never build URLs from it."
    shape = (call.drift >> DRIFT_URI_SHIFT) % 3
    if shape == 0:
        return f"/v1/Accounts/{account_sid}/Calls/{call.sid}"
    if shape == 1:
        return f"/v1/Accounts/{account_sid}/Calls/{call.sid}.json"
    return f"/v1/Accounts/{account_sid}/Calls.json/{call.sid}"


def _answered_by(call: SimCall) -> str | None:
    # docs/exotel/quirks.md: "`AnsweredBy` is `human`, `HUMAN` or null".
    if not call.talk or not call.drift & DRIFT_ANSWERED_BY:
        return None
    return "HUMAN" if call.drift & DRIFT_ANSWERED_BY_UPPER else "human"


def _final_values(call: SimCall, sid: str) -> dict[str, Any]:
    # docs/exotel/quirks.md: "`Duration` is "17", 17 or null; `Price` "1.500", 0 or null".
    cost = price(call)
    return {
        "EndTime": v1_date(call.wall0 + call.end),
        "Duration": str(call.end) if call.drift & DRIFT_DURATION_STR else call.end,
        "Price": f"{cost:.3f}" if call.drift & DRIFT_PRICE_STR else (cost or 0),
        "RecordingUrl": recording_url(call, sid),
    }


def call_record(
    call: SimCall, x: float, scenario: Scenario, *, posted: bool = False
) -> dict[str, Any]:
    """The v1 ``Call`` object as a GET at offset ``x`` shows it (``posted``: the POST answer)."""
    sid = scenario.account.sid
    ended = x >= call.end
    pending = ended and x < call.end + scenario.timing.record_finalize_delay
    status = "in-progress" if posted else v1_status_at(call, x)
    if pending and scenario.faults.pending_status == "completed":
        # docs/exotel/quirks.md: `Status: completed` with an epoch-zero `EndTime`
        status = "completed"
    created = v1_date(call.wall0)
    record: dict[str, Any] = {
        "Sid": call.sid,
        "ParentCallSid": None,
        "DateCreated": created,
        "DateUpdated": created if posted else v1_date(call.wall0 + last_change(call, x)),
        "AccountSid": sid,
        "To": national(call.to or call.caller),
        "From": national(call.frm),
        "PhoneNumberSid": national(call.caller),
        "Status": status,
        "StartTime": created,
        "EndTime": EPOCH_V1 if pending else None,
        "Duration": None,
        "Price": None,
        "Direction": "outbound-api",
        "AnsweredBy": _answered_by(call),
        "ForwardedFrom": None,
        "CallerName": None,
        "Uri": _uri(call, sid),
        "RecordingUrl": None,
    }
    if ended and not pending and not posted:
        record.update(_final_values(call, sid))
    return record


def details(call: SimCall, x: float) -> dict[str, Any]:
    """``Details`` added by ``?details=true`` (docs/exotel/quirks.md)."""
    leg1, leg2 = legs_at(call, x)
    ended = x >= call.end
    return {
        "ConversationDuration": call.talk if ended else 0,
        "Leg1Status": leg1,
        "Leg2Status": leg2,
        "Legs": [
            {"Leg": {"Id": 1, "OnCallDuration": call.leg1_on if ended else 0}},
            {"Leg": {"Id": 2, "OnCallDuration": call.talk if ended else 0}},
        ],
    }


# ---- encodings ----------------------------------------------------------------------


def _xml(tag: str, value: Any) -> str:
    if value is None or value == "":
        return f"<{tag}/>"
    if isinstance(value, dict):
        inner = "".join(_xml(k, v) for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(_xml_item(tag, item) for item in value)
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    else:
        inner = escape(str(value))
    return f"<{tag}>{inner}</{tag}>"


def _xml_item(list_tag: str, item: Any) -> str:
    if isinstance(item, dict) and len(item) == 1:
        ((key, value),) = item.items()
        return _xml(key, value)
    return _xml(list_tag[:-1] if list_tag.endswith("s") else list_tag, item)


def to_xml(body: dict[str, Any]) -> str:
    """v1 XML: the JSON body's keys under a ``<TwilioResponse>`` root (003 page)."""
    inner = "".join(_xml(k, v) for k, v in body.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<TwilioResponse>{inner}</TwilioResponse>\n'


def respond(status: int, body: dict[str, Any], as_json: bool) -> httpx.Response:
    """A v1 answer: JSON with ``.json`` in the path, XML without (docs/exotel/basics.md)."""
    if as_json:
        return httpx.Response(
            status, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
    return httpx.Response(status, content=to_xml(body), headers={"Content-Type": "application/xml"})


def rest_exception(status: int, message: str, as_json: bool) -> httpx.Response:
    """v1 error body: ``{"RestException": {"Status": 400, "Message": "..."}}``."""
    return respond(status, {"RestException": {"Status": status, "Message": message}}, as_json)
