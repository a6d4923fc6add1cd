"""v3 endpoints: create a call (JSON), call details, legs; errors per the 002 code table.

Choices where 002 is silent (docs/simulator.md): a missing or malformed field is
400/1001 (the table's only generic 400), a bad ``recording.channels`` is 400/1002, a SIP
``contact_uri`` is 405/10712 (VoIP is not enabled on simulated accounts), and a call to
a number on the NDNC registry is created but never dials the customer (``status``
``to_leg_no_dial``, or ``from_leg_no_dial`` when the number is on ``from``), since v3
documents no DND refusal.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from campaigner.simulator.phones import to_e164
from campaigner.simulator.timeline import CallOptions, SimCall
from campaigner.simulator.v3_wire import (
    call_details,
    envelope,
    error_data,
    json_response,
    leg_details,
)

if TYPE_CHECKING:
    from campaigner.simulator.core import Simulator
    from campaigner.simulator.routes import Ctx

MAX_TIME_LIMIT = 14400  # 002: max_time_limit "Default: 4 hours"
DEFAULT_ATTEMPT_TIME_OUT = 30  # 002: attempt_time_out "Default: 30 seconds"


# 002's error table: how Exotel refuses a call whose `from` user's device cannot take it.
DEVICE_ERRORS: dict[str, tuple[int, int, str]] = {
    "off": (404, 10703, "Device is currently unavailable (turned off)"),
    "unavailable": (409, 1012, "User device is unavailable"),
    "unverified": (409, 10705, "User device is unverified"),
    "unknown_user": (404, 10731, "User not found"),
    "no_device": (404, 10806, "No device found for user"),
    "not_found": (404, 10702, "User Device not found"),
}


class Invalid(ValueError):
    """A v3 request problem: HTTP status, Exotel code and description."""

    def __init__(self, http: int, code: int, description: str) -> None:
        super().__init__(description)
        self.http, self.code, self.description = http, code, description


def error(sim: Simulator, method: str, http: int, code: int, description: str) -> httpx.Response:
    """A v3 error answer: the envelope with ``error_data`` and ``status: failure``."""
    body = envelope(
        sim.request_id(), method, http, "call_details", None, error_data(code, description)
    )
    return json_response(http, body)


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # 002 examples send "true" as a string
    raise Invalid(400, 1001, f"{name} must be true or false")


def _choice(block: dict[str, Any], key: str, allowed: tuple[str, ...], name: str) -> str | None:
    value = block.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise Invalid(400, 1001, f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def _block(body: dict[str, Any], key: str, kind: type, required: bool = False) -> Any:
    value = body.get(key)
    if value is None:
        if required:
            raise Invalid(400, 1001, f"{key} is mandatory")
        return kind()
    if not isinstance(value, kind):
        raise Invalid(400, 1001, f"{key} must be a JSON {kind.__name__}")
    return value


def _number(block: dict[str, Any], name: str) -> tuple[str, str]:
    raw = block.get("contact_uri")
    if not isinstance(raw, str) or not raw:
        raise Invalid(400, 1001, f"{name}.contact_uri is mandatory")
    if raw.startswith("sip:"):
        raise Invalid(405, 10712, "VOIP calls are not allowed")
    e164 = to_e164(raw)
    if e164 is None:
        raise Invalid(400, 1001, f"{name}.contact_uri is not a valid phone number")
    return raw, e164


def _int(body: dict[str, Any], key: str, high: int | None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(400, 1001, f"{key} must be a positive integer")
    if high is not None and value > high:
        raise Invalid(400, 1001, f"{key} must be at most {high}")
    return int(value)


def _callbacks(body: dict[str, Any]) -> tuple[tuple[str, str, str, str], ...]:
    entries = _block(body, "status_callback", list)
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise Invalid(400, 1001, "status_callback entries need a url")
        event = _choice(entry, "event", ("answered", "terminal"), "status_callback.event")
        method = _choice(entry, "method", ("POST", "GET"), "status_callback.method")
        ctype = _choice(
            entry,
            "content_type",
            ("application/json", "multipart/form-data"),
            "status_callback.content_type",
        )
        # 002: method defaults to POST, content_type to application/json; no event: terminal
        out.append(
            (event or "terminal", entry["url"], method or "POST", ctype or "application/json")
        )
    return tuple(out)


def _recording(body: dict[str, Any]) -> bool:
    recording = _block(body, "recording", dict)
    channels = recording.get("channels")
    if channels is not None and channels not in ("single", "dual"):
        raise Invalid(400, 1002, "Valid values for RecordingChannels are single, dual")
    _choice(recording, "format", ("mp3", "mp3-hq"), "recording.format")
    return _bool(recording.get("record", False), "recording.record")


def _extras(body: dict[str, Any]) -> None:
    for item in _block(body, "playback", list):
        if not isinstance(item, dict):
            raise Invalid(400, 1001, "playback entries must be JSON objects")
        _choice(item, "event", ("start", "end"), "playback.event")
        _choice(item, "to", ("callee", "both"), "playback.to")
    streaming = _block(body, "streaming", dict)
    _choice(streaming, "begin", ("from_leg_connect", "to_leg_connect"), "streaming.begin")
    custom = body.get("custom_field")
    if custom is not None and (not isinstance(custom, str) or len(custom) > 128):
        raise Invalid(400, 1001, "custom_field must be a string of at most 128 characters")


def _parse(request: httpx.Request) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        raise Invalid(400, 1001, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Invalid(400, 1001, "the request body must be a JSON object")
    return body


async def create(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``POST /v3/accounts/<sid>/calls``."""
    try:
        return await _create(sim, ctx, _parse(ctx.request))
    except Invalid as exc:
        return error(sim, "POST", exc.http, exc.code, exc.description)


async def _create(sim: Simulator, ctx: Ctx, body: dict[str, Any]) -> httpx.Response:
    from_block = _block(body, "from", dict, required=True)
    from_raw, frm = _number(from_block, "from")
    to_raw, to = _number(_block(body, "to", dict, required=True), "to")
    virtual = body.get("virtual_number")
    if not isinstance(virtual, str) or not virtual:
        raise Invalid(400, 1001, "virtual_number is mandatory")
    record = _recording(body)
    _extras(body)
    plan: dict[str, Any] = {
        # 002's defaults for absent ones: attempt_time_out 30 s, max_time_limit 4 hours.
        "ring_timeout": _int(body, "attempt_time_out", None) or DEFAULT_ATTEMPT_TIME_OUT,
        "time_limit": _int(body, "max_time_limit", MAX_TIME_LIMIT) or MAX_TIME_LIMIT,
    }
    callbacks = _callbacks(body)
    phone = sim.board.find(virtual)
    if phone is None:
        raise Invalid(404, 10716, "Given virtual_number not found")
    managed = from_block.get("state_management")
    # 002: a number added on the dashboard as a user is state-managed by default.
    managed = (
        _bool(managed, "from.state_management") if managed is not None else frm in sim.book.agents
    )
    agent = sim.book.agents.get(frm)
    if agent is not None and agent.device != "ok":
        raise Invalid(*DEVICE_ERRORS[agent.device])
    if managed and sim.book.is_busy(frm, ctx.now):
        raise Invalid(409, 10706, "User device is currently busy")
    call = SimCall(sim.book.new_sid(), len(sim.book.ordered), "v3", frm, to, phone.number)
    call.opts = CallOptions(
        from_raw=from_raw,
        to_raw=to_raw,
        record=record,
        custom_field=body.get("custom_field"),
        v3_callbacks=callbacks,
    )
    # Whichever leg the DND number is on is never dialed (v1 refuses either leg with 403):
    # a contact-first call puts the customer on `from`.
    plan["from_no_dial"] = sim.book.is_dnd(frm)
    plan["to_no_dial"] = sim.book.is_dnd(to)

    def render(placed: SimCall) -> httpx.Response:
        details = call_details(placed, 0.0, sim.scenario, posted=True)
        return json_response(200, envelope(sim.request_id(), "POST", 200, "call_details", details))

    return await sim.place(ctx, call, plan, phone.sid, render)


def _find(sim: Simulator, ctx: Ctx) -> SimCall | None:
    return sim.book.by_sid.get(ctx.groups[1])


async def details(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``GET /v3/accounts/<sid>/calls/<call_sid>``."""
    call = _find(sim, ctx)
    if call is None:
        return error(sim, "GET", 404, 10744, "Call not found")
    data = call_details(call, sim.book.offset(call, ctx.now), sim.scenario)
    return json_response(200, envelope(sim.request_id(), "GET", 200, "call_details", data))


async def legs(sim: Simulator, ctx: Ctx) -> httpx.Response:
    """``GET /v3/accounts/<sid>/calls/<call_sid>/legs``."""
    call = _find(sim, ctx)
    if call is None:
        body = envelope(
            sim.request_id(), "GET", 404, "leg_details", None, error_data(10744, "Call not found")
        )
        return json_response(404, body)
    data = leg_details(call, sim.book.offset(call, ctx.now), sim.scenario.account.sid)
    return json_response(200, envelope(sim.request_id(), "GET", 200, "leg_details", data))
