"""v1 endpoints: connect two numbers (or to a flow), call details, number metadata.

Validation follows the 003 parameter table; where the pages are silent the simulator
picks the closest documented behaviour (docs/simulator.md lists those choices): an
unknown ``CallerId`` is a 400 (a bad parameter value, like every other one), a number on
the NDNC registry is a 403 RestException (docs/exotel/quirks.md), a number that does not parse
is a 400.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

import httpx

from campaigner.simulator.phones import (
    CIRCLES,
    OPERATORS,
    default_circle,
    default_operator,
    is_indian,
    is_mobile,
    national,
    to_e164,
)
from campaigner.simulator.timeline import CallOptions, SimCall
from campaigner.simulator.v1_wire import call_record, details, respond, rest_exception

if TYPE_CHECKING:
    from campaigner.simulator.core import Simulator
    from campaigner.simulator.routes import Ctx

MAX_TIME_LIMIT = 14400  # 003: "max. 14400 i.e. 4 hours"
MAX_CUSTOM_FIELD = 128  # docs/exotel/quirks.md: "at most 128 characters per newer pages"
_CHOICES = {
    "RecordingChannels": ("single", "dual"),
    "RecordingFormat": ("mp3", "mp3-hq"),
    "StreamBegin": ("Leg1Connect", "Leg2Connect"),
    "StartPlaybackTo": ("Callee", "Both"),
    "StatusCallbackContentType": ("multipart/form-data", "application/json"),
    "Record": ("true", "false"),
}
_EVENTS_KEY = re.compile(r"^StatusCallbackEvents\[\d*\]$")
_APP_ID = re.compile(r"/start_voice/([^/?#]+)")


def _form(request: httpx.Request) -> tuple[dict[str, str], list[str]]:
    """Form fields (last value wins) and the StatusCallbackEvents values in order."""
    fields: dict[str, str] = {}
    events: list[str] = []
    for key, value in parse_qsl(request.content.decode(errors="replace"), keep_blank_values=True):
        # docs/exotel/quirks.md: "`StatusCallbackEvents[0]=…` is the documented form; some clients
        # send `StatusCallbackEvents[]=…`": accept both.
        if _EVENTS_KEY.match(key) or key == "StatusCallbackEvents":
            events.append(value)
        else:
            fields[key] = value
    return fields, events


def _int_error(fields: dict[str, str], name: str, high: int | None) -> str | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < 1 or (high is not None and int(raw) > high):
        bound = f" between 1 and {high}" if high else " greater than 0"
        return f"{name} must be an integer{bound}"
    return None


def validate(fields: dict[str, str], events: list[str]) -> str | None:
    """The first problem with a connect request, as a RestException message, or None."""
    for name in ("From", "CallerId"):
        if not fields.get(name):
            return f"Missing mandatory parameter: {name}"
    if bool(fields.get("To")) == bool(fields.get("Url")):
        return "Exactly one of To and Url must be given"
    problem = _int_error(fields, "TimeLimit", MAX_TIME_LIMIT) or _int_error(fields, "TimeOut", None)
    if problem:
        return problem
    for name, allowed in _CHOICES.items():
        value = fields.get(name)
        if value is not None and value != "" and value.lower() not in [a.lower() for a in allowed]:
            return f"Invalid value for {name}: {value!r}; valid values are {', '.join(allowed)}"
    for event in events:
        if event not in ("terminal", "answered"):
            return f"Invalid value for StatusCallbackEvents: {event!r}"
    if len(fields.get("CustomField", "")) > MAX_CUSTOM_FIELD:
        return f"CustomField must be at most {MAX_CUSTOM_FIELD} characters"
    return None


def _options(fields: dict[str, str], events: list[str]) -> CallOptions:
    url = fields.get("Url")
    app = _APP_ID.search(url) if url else None
    return CallOptions(
        from_raw=fields["From"],
        to_raw=fields.get("To") or None,
        # 003: "true (default) - Call conversation will be recorded": absent means record.
        record=fields.get("Record", "true").lower() == "true",
        custom_field=fields.get("CustomField"),
        app_id=app.group(1) if app else None,
        callback_url=fields.get("StatusCallback") or None,
        events=tuple(events),
        content_type=(fields.get("StatusCallbackContentType") or "multipart/form-data").lower(),
    )


def _ndnc(e164: str) -> str:
    # docs/exotel/quirks.md: connect answers HTTP 403 "Call to [<number>] cannot be made because of
    # TRAI NDNC regulations".
    return f"Call to [{national(e164)}] cannot be made because of TRAI NDNC regulations"


async def connect(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``POST /v1/Accounts/<sid>/Calls/connect[.json]``."""
    fields, events = _form(ctx.request)
    problem = validate(fields, events)
    if problem:
        return rest_exception(400, problem, ctx.as_json)
    phone = sim.board.find(fields["CallerId"])
    if phone is None:
        message = f"CallerId {fields['CallerId']} is not an ExoPhone of this account"
        return rest_exception(400, message, ctx.as_json)
    frm = to_e164(fields["From"])
    to = to_e164(fields["To"]) if fields.get("To") else None
    if frm is None or (to is None and fields.get("To")):
        bad = "From" if frm is None else "To"
        return rest_exception(400, f"Invalid phone number in {bad}: {fields[bad]!r}", ctx.as_json)
    for number in (to, frm):
        if number is not None and sim.book.is_dnd(number):
            return rest_exception(403, _ndnc(number), ctx.as_json)
    call = SimCall(sim.book.new_sid(), len(sim.book.ordered), "v1", frm, to, phone.number)
    call.opts = _options(fields, events)
    plan = {
        "flow": to is None,
        # 003 documents no default ring time (an absent TimeOut rings as the scenario's
        # timing says) and caps TimeLimit at 4 h, which an absent one is.
        "ring_timeout": int(fields["TimeOut"]) if fields.get("TimeOut") else None,
        "time_limit": int(fields["TimeLimit"]) if fields.get("TimeLimit") else MAX_TIME_LIMIT,
    }

    def render(placed: SimCall) -> httpx.Response:
        record = call_record(placed, 0.0, sim.scenario, posted=True)
        return respond(200, {"Call": record}, ctx.as_json)

    return await sim.place(ctx, call, plan, phone.sid, render)


async def call_details(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``GET /v1/Accounts/<sid>/Calls/<CallSid>[.json][?details=true]``."""
    call = sim.book.by_sid.get(ctx.groups[1])
    if call is None:
        # docs/exotel/quirks.md: "Unknown CallSid: HTTP 404 ... "No matching results""
        return rest_exception(404, "No matching results", ctx.as_json)
    x = sim.book.offset(call, ctx.now)
    record = call_record(call, x, sim.scenario)
    if ctx.request.url.params.get("details", "").lower() == "true":
        record["Details"] = details(call, x)
    return respond(200, {"Call": record}, ctx.as_json)


async def number_metadata(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``GET /v1/Accounts/<sid>/Numbers/<number>[.json]``: circle, operator, type, DND."""
    raw = unquote(ctx.groups[1])
    e164 = to_e164(raw)
    if e164 is None:
        return rest_exception(400, f"Invalid phone number: {raw!r}", ctx.as_json)
    if not is_indian(e164):
        message = f"Number metadata is available for Indian numbers only: {raw!r}"
        return rest_exception(400, message, ctx.as_json)
    conf = sim.book.behaviour(e164)
    circle_code = conf.circle if conf and conf.circle else default_circle(e164).code
    names = {circle.code: circle.name for circle in CIRCLES}
    operator = conf.operator if conf and conf.operator else default_operator(e164)
    if conf is not None and conf.dnd == "unavailable":
        dnd = "Unavailable"
    else:
        dnd = "Yes" if sim.book.is_dnd(e164) else "No"
    kind = conf.type if conf and conf.type else ("Mobile" if is_mobile(e164) else "Landline")
    body = {
        "Numbers": {
            "PhoneNumber": national(e164),
            "Circle": circle_code,
            "CircleName": names.get(circle_code, circle_code),
            "Type": kind,
            "Operator": operator,
            "OperatorName": OPERATORS.get(operator, operator),
            "DND": dnd,
        }
    }
    return respond(200, body, ctx.as_json)
