"""Every call option of a campaign file, compiled to the exact Exotel request.

The golden files are the requests as they go on the wire; the field names are checked
against the reference's lists (docs/exotel/v3.md: v1 connect table, v3 POST body), so a
renamed field fails here even if both golden files were regenerated.
Regenerate after an intended change with ``REGOLD=1 pytest tests/compile``.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from campaigner.campaign.loader import load_campaign
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.compile import callback_url, compile_call
from campaigner.exotel import build_connect

GOLDEN = Path(__file__).parent / "golden"

COMMON = """
name: every-option
caller_ids: ["+912241499102", {number: "08047091234", sid: "08047091234"}]
contacts:
  inline:
    - {phone: "098765 43210", order_id: "INV-7", name: "Asha"}
call:
  time_limit: 1800
  ring_timeout: 45
  wait_audio_url: "https://cdn.example.com/wait/{{ name | lower }}.wav"
  recording: {record: true, channels: dual, format: mp3-hq}
  streaming: {url: "wss://stream.example.com/{{ order_id }}", begin: to_leg_connect}
  custom_field: "{{ order_id }}/{{ attempt }}"
callbacks:
  public_url: "https://hooks.example.com/exotel"
  events: [terminal, answered]
  content_type: multipart/form-data
schedule: {deadline: 2099-12-31T20:00:00+05:30}
"""

V1 = (
    COMMON
    + """
api: v1
dial: {mode: agent_first, agents: ["+919900000001"]}
call_extra: {}
"""
)

V1_TEXT = (
    COMMON.replace(
        "call:\n",
        "call:\n  call_type: trans\n"
        '  playback: {url: "https://cdn.example.com/consent.wav", to: both}\n',
    )
    + """
api: v1
dial: {mode: agent_first, agents: ["+919900000001"]}
"""
)

V3_TEXT = (
    COMMON.replace(
        "call:\n",
        "call:\n  playback:\n"
        '    - {url: "https://cdn.example.com/consent.wav", to: both, when: start}\n'
        '    - {url: "https://cdn.example.com/thanks.wav", to: callee, when: end}\n',
    ).replace("content_type: multipart/form-data", "content_type: application/json\n  method: GET")
    + """
api: v3
dial:
  mode: agent_first
  agents: [{contact_uri: "+919900000001", state_management: true}]
"""
)

FLOW_TEXT = """
name: flow
api: v1
caller_ids: ["+912241499102"]
dial: {mode: flow, app_id: "228040"}
contacts: {inline: ["+919876543210"]}
call: {call_type: trans, time_limit: 300}
schedule: {deadline: 2099-12-31T20:00:00+05:30}
"""

CONTACT_FIRST_TEXT = """
name: contact-first
api: v1
caller_ids: ["+912241499102"]
dial: {mode: contact_first, connect_to: "080 4123 4567"}
contacts: {inline: ["+919876543210"]}
schedule: {deadline: 2099-12-31T20:00:00+05:30}
"""

V3_MINIMAL_TEXT = """
name: minimal
api: v3
caller_ids: ["+912241499102"]
dial: {mode: agent_first, agents: ["+919900000001"]}
contacts: {inline: ["+919876543210"]}
schedule: {deadline: 2099-12-31T20:00:00+05:30}
"""

# docs/exotel/v1.md, "v1: connect two numbers" (and the flow variant's Url).
V1_FIELDS = {
    "From",
    "To",
    "CallerId",
    "CallType",
    "TimeLimit",
    "TimeOut",
    "WaitUrl",
    "Record",
    "RecordingChannels",
    "RecordingFormat",
    "CustomField",
    "StreamUrl",
    "StreamBegin",
    "StartPlaybackTo",
    "StartPlaybackValue",
    "StatusCallback",
    "StatusCallbackEvents[0]",
    "StatusCallbackEvents[1]",
    "StatusCallbackContentType",
    "Url",
}
# docs/exotel/v3.md, "v3: connect two numbers": the JSON body's top-level keys.
V3_KEYS = {
    "from",
    "to",
    "virtual_number",
    "recording",
    "wait_audio_url",
    "max_time_limit",
    "attempt_time_out",
    "custom_field",
    "status_callback",
    "playback",
    "streaming",
}


def load(tmp_path: Path, text: str) -> LoadedCampaign:
    path = tmp_path / "campaign.yaml"
    path.write_text(textwrap.dedent(text))
    return load_campaign(path)


def first_request(loaded: LoadedCampaign) -> dict[str, object]:
    contact = next(loaded.iter_contacts())
    public = loaded.campaign.callbacks.public_url
    spec = compile_call(
        loaded,
        contact,
        attempt=2,
        caller_id=loaded.caller_ids[-1].number,
        agent=loaded.agents[0] if loaded.agents else None,
        status_callback=callback_url(public, "TOKEN", loaded.campaign.api) if public else None,
    )
    wire = build_connect(
        spec,
        account_sid="acme1",
        v1_base="https://api.in.exotel.com",
        v3_base="https://ccm-api.in.exotel.com",
    )
    return {
        "method": wire.method,
        "url": wire.url,
        "form": [list(pair) for pair in wire.form] if wire.form is not None else None,
        "json": wire.json_body,
    }


def check_golden(name: str, request: dict[str, object]) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(request, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("REGOLD"):
        path.write_text(text)
    assert text == path.read_text(), f"{name}: the compiled request changed"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("v1_every_option", V1_TEXT),
        ("v3_every_option", V3_TEXT),
        ("v1_flow", FLOW_TEXT),
        ("v1_contact_first", CONTACT_FIRST_TEXT),
        ("v3_minimal", V3_MINIMAL_TEXT),
    ],
)
def test_golden_requests(tmp_path: Path, name: str, text: str) -> None:
    request = first_request(load(tmp_path, text))
    check_golden(name, request)
    if request["form"] is not None:
        names = {pair[0] for pair in request["form"]}  # type: ignore[union-attr]
        assert names <= V1_FIELDS, names - V1_FIELDS
    else:
        assert set(request["json"]) <= V3_KEYS  # type: ignore[arg-type]


def test_unset_options_are_sent_as_campaigners_defaults(tmp_path: Path) -> None:
    """Where Exotel's default differs from campaigner's (or is undocumented), the request
    says campaigner's explicitly: v1 records every call unless told ``Record=false``."""
    form = dict(first_request(load(tmp_path, CONTACT_FIRST_TEXT))["form"])  # type: ignore[arg-type]
    assert (form["Record"], form["TimeLimit"], form["TimeOut"]) == ("false", "14400", "30")
    assert "RecordingChannels" not in form  # Exotel's default (single) is campaigner's
    body = first_request(load(tmp_path, V3_MINIMAL_TEXT))["json"]
    assert isinstance(body, dict)
    assert body["recording"] == {"record": False}
    assert (body["max_time_limit"], body["attempt_time_out"]) == (14400, 30)
    assert "state_management" not in body["from"]  # left to Exotel: dashboard users


def test_v1_every_option_maps_to_its_field(tmp_path: Path) -> None:
    form = dict(first_request(load(tmp_path, V1_TEXT))["form"])  # type: ignore[arg-type]
    assert form == {
        "From": "+919900000001",
        "To": "+919876543210",  # "098765 43210" normalised to E.164
        "CallerId": "+918047091234",  # the second caller ID, national form normalised
        "CallType": "trans",
        "TimeLimit": "1800",
        "TimeOut": "45",
        "WaitUrl": "https://cdn.example.com/wait/asha.wav",  # template rendered per contact
        "Record": "true",
        "RecordingChannels": "dual",
        "RecordingFormat": "mp3-hq",
        "CustomField": "INV-7/2",
        "StreamUrl": "wss://stream.example.com/INV-7",
        "StreamBegin": "Leg2Connect",
        "StartPlaybackTo": "Both",
        "StartPlaybackValue": "https://cdn.example.com/consent.wav",
        "StatusCallback": "https://hooks.example.com/exotel/TOKEN/v1",
        "StatusCallbackEvents[0]": "terminal",
        "StatusCallbackEvents[1]": "answered",
        "StatusCallbackContentType": "multipart/form-data",
    }


def test_v3_every_option_maps_to_its_key(tmp_path: Path) -> None:
    body = first_request(load(tmp_path, V3_TEXT))["json"]
    assert body == {
        "from": {"contact_uri": "+919900000001", "state_management": True},
        "to": {"contact_uri": "+919876543210"},
        "virtual_number": "+918047091234",
        "recording": {"record": True, "channels": "dual", "format": "mp3-hq"},
        "wait_audio_url": "https://cdn.example.com/wait/asha.wav",
        "max_time_limit": 1800,
        "attempt_time_out": 45,
        "custom_field": "INV-7/2",
        "status_callback": [
            {
                "event": "terminal",
                "url": "https://hooks.example.com/exotel/TOKEN/v3",
                "method": "GET",
                "content_type": "application/json",
            },
            {
                "event": "answered",
                "url": "https://hooks.example.com/exotel/TOKEN/v3",
                "method": "GET",
                "content_type": "application/json",
            },
        ],
        "playback": [
            {"event": "start", "to": "both", "value": "https://cdn.example.com/consent.wav"},
            {"event": "end", "to": "callee", "value": "https://cdn.example.com/thanks.wav"},
        ],
        "streaming": {"url": "wss://stream.example.com/INV-7", "begin": "to_leg_connect"},
    }


def test_flow_connects_the_contact_to_the_flow(tmp_path: Path) -> None:
    form = dict(first_request(load(tmp_path, FLOW_TEXT))["form"])  # type: ignore[arg-type]
    assert form["From"] == "+919876543210"
    assert form["Url"] == "http://my.exotel.com/acme1/exoml/start_voice/228040"
    assert "To" not in form


def test_contact_first_dials_the_contact_then_the_fixed_number(tmp_path: Path) -> None:
    form = dict(first_request(load(tmp_path, CONTACT_FIRST_TEXT))["form"])  # type: ignore[arg-type]
    assert (form["From"], form["To"]) == ("+919876543210", "+918041234567")
    assert "StatusCallback" not in form  # no public_url: polling only
