"""Status callbacks: which events a call owes, and the exact request for each.

v1 (003 page and docs/exotel/v1.md): POSTed to ``StatusCallback`` as multipart/form-data
unless ``StatusCallbackContentType=application/json``; the basic four fields always,
the terminal fields and ``Legs`` when ``terminal`` is subscribed, ``answered`` events
when subscribed. v3 (002): one request per subscribed event with its own method and
content type; JSON nests ``event_details``/``call_details``, forms and GET query strings
carry the same nesting flattened with brackets. Nothing is signed or authenticated and
the URL is called exactly as given (docs/exotel/quirks.md).

Events are coded ``index * 4 + e`` with ``e`` 1 = first leg answered, 2 = second leg
answered, 3 = terminal; ``index`` is the v3 ``status_callback`` entry (0 for v1).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from campaigner.simulator.dates import v1_date
from campaigner.simulator.phones import national
from campaigner.simulator.scenario import Scenario
from campaigner.simulator.timeline import SimCall
from campaigner.simulator.v1_wire import recording_url
from campaigner.simulator.v3_wire import call_details

ANSWERED_1, ANSWERED_2, TERMINAL = 1, 2, 3

V1_BASIC_FIELDS = ("CallSid", "Status", "RecordingUrl", "DateUpdated")
V1_TERMINAL_FIELDS = (
    "CallSid",
    "EventType",
    "DateCreated",
    "DateUpdated",
    "Status",
    "To",
    "From",
    "PhoneNumberSid",
    "StartTime",
    "EndTime",
    "ConversationDuration",
    "Direction",
    "CustomField",
    "RecordingUrl",
    "Legs",
)

Outgoing = tuple[str, str, dict[str, str], bytes]  # method, url, headers, body


def _answer_events(call: SimCall, base: int) -> list[tuple[int, int]]:
    events = [] if call.a1 is None else [(call.a1, base + ANSWERED_1)]
    if call.a2 is not None and call.to is not None:
        events.append((call.a2, base + ANSWERED_2))
    return events


def events_of(call: SimCall) -> list[tuple[int, int]]:
    """(offset, code) of every callback the call owes, in the order they happen."""
    opts = call.opts
    if opts is None:
        return []
    events: list[tuple[int, int]] = []
    if opts.callback_url:
        if "answered" in opts.events:
            events += _answer_events(call, 0)
        events.append((call.end, TERMINAL))
    for index, (event, _url, _method, _type) in enumerate(opts.v3_callbacks):
        if event == "answered":
            events += _answer_events(call, index * 4)
        else:
            events.append((call.end, index * 4 + TERMINAL))
    events.sort(key=lambda item: (item[0], item[1] & 3, item[1]))
    return events


def event_offset(call: SimCall, code: int) -> int:
    """When (simulated offset) the event happened: payloads describe that instant."""
    kind = code & 3
    if kind == ANSWERED_1 and call.a1 is not None:
        return call.a1
    if kind == ANSWERED_2 and call.a2 is not None:
        return call.a2
    return call.end


def _v1_payload(call: SimCall, code: int, scenario: Scenario, as_json: bool) -> dict[str, Any]:
    assert call.opts is not None
    opts, sid = call.opts, scenario.account.sid
    terminal = code & 3 == TERMINAL
    at = event_offset(call, code)
    recording = (recording_url(call, sid) or "") if terminal else ""
    if terminal and "terminal" not in opts.events:
        return {
            "CallSid": call.sid,
            "Status": call.status,
            "RecordingUrl": recording,
            "DateUpdated": v1_date(call.wall0 + at),
        }

    def num(value: int) -> int | str:
        # docs/exotel/quirks.md: "In JSON callbacks `ConversationDuration` and `OnCallDuration` are
        # integers; in form bodies everything is text."
        return value if as_json else str(value)

    if terminal:
        legs = [(call.leg1, call.leg1_on), (call.leg2, call.talk)]
    else:  # docs/exotel/quirks.md: answered: Legs[0] in-progress, Legs[1] empty, then in-progress
        legs = [("in-progress", 0), ("in-progress" if code & 3 == ANSWERED_2 else "", 0)]
    body: dict[str, Any] = {
        "CallSid": call.sid,
        "EventType": "terminal" if terminal else "answered",
        "DateCreated": v1_date(call.wall0),
        "DateUpdated": v1_date(call.wall0 + at),
        "Status": call.status if terminal else "in-progress",
        "To": opts.to_raw if opts.to_raw is not None else national(call.caller),
        "From": opts.from_raw,
        "PhoneNumberSid": national(call.caller),
        "StartTime": v1_date(call.wall0),
        "EndTime": v1_date(call.wall0 + call.end) if terminal else "",
        "ConversationDuration": num(call.talk if terminal else 0),
        "Direction": "outbound-api",
        "CustomField": opts.custom_field or "",
        "RecordingUrl": recording,
        "Legs": [{"OnCallDuration": num(d), "Status": s} for s, d in legs[: 2 if call.to else 1]],
    }
    if not terminal:  # 003: CustomField comes back "only via 'terminal' StatusCallbackEvent"
        del body["CustomField"]
    return body


def _v3_payload(call: SimCall, code: int, scenario: Scenario) -> dict[str, Any]:
    terminal = code & 3 == TERMINAL
    event = "terminal" if terminal else "answered"
    at = event_offset(call, code)
    details = call_details(call, at, scenario, event=event)
    return {"event_details": {"event_type": event}, "call_details": details}


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Bracket-flatten nested data: ``Legs[0][Status]``, ``call_details[recordings][0][url]``."""
    if isinstance(value, dict):
        items: list[tuple[str, str]] = []
        for key, item in value.items():
            items += flatten(item, f"{prefix}[{key}]" if prefix else str(key))
        return items
    if isinstance(value, list):
        return [pair for i, item in enumerate(value) for pair in flatten(item, f"{prefix}[{i}]")]
    if value is None:
        return [(prefix, "")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


def multipart(fields: list[tuple[str, str]], boundary: str) -> tuple[bytes, str]:
    """A multipart/form-data body of plain fields, and its Content-Type."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _encode(
    method: str, url: str, content_type: str, payload: dict[str, Any], tag: str
) -> Outgoing:
    if method == "GET":
        query = urlencode(flatten(payload))
        return "GET", url + ("&" if "?" in url else "?") + query, {}, b""
    if content_type == "application/json":
        return "POST", url, {"Content-Type": "application/json"}, json.dumps(payload).encode()
    body, header = multipart(flatten(payload), f"----ExotelCallback{tag}")
    return "POST", url, {"Content-Type": header}, body


def build(call: SimCall, code: int, scenario: Scenario) -> Outgoing:
    """The exact request for event ``code`` of ``call``."""
    assert call.opts is not None
    opts = call.opts
    tag = f"{call.sid[:12]}{code}"
    if opts.callback_url and code < 4:
        as_json = opts.content_type == "application/json"
        payload = _v1_payload(call, code, scenario, as_json)
        return _encode("POST", opts.callback_url, opts.content_type, payload, tag)
    _event, url, method, content_type = opts.v3_callbacks[code // 4]
    return _encode(method, url, content_type, _v3_payload(call, code, scenario), tag)
