"""Connect requests, golden: the exact v1 form and v3 JSON for a spec with every option."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from campaigner.domain import CallSpec, Playback
from campaigner.exotel import REGISTRY, build_connect
from campaigner.exotel.wire import WireRequest

from .conftest import REFERENCE

DOCS_EXOTEL = Path(__file__).parents[2] / "docs" / "exotel"

V1_SPEC = CallSpec(
    api="v1",
    first_leg="+919876543210",
    second_leg="+918041234567",
    caller_id="08047112233",
    call_type="trans",
    time_limit=600,
    ring_timeout=40,
    wait_audio_url="https://audio.example/wait.wav",
    record=True,
    recording_channels="dual",
    recording_format="mp3-hq",
    custom_field="run-7/c-42/a-1",
    stream_url="wss://stream.example/s",
    stream_begin="to_leg_connect",
    playback=(Playback(url="https://audio.example/hello.mp3", to="both"),),
    status_callback_url="https://cb.example/exotel/v1/tok?x=1",
    callback_events=("terminal", "answered"),
    callback_content_type="application/json",
)
V3_SPEC = replace(
    V1_SPEC,
    api="v3",
    state_management=True,
    playback=(
        Playback(url="https://audio.example/hello.mp3", to="both"),
        Playback(url="https://audio.example/bye.mp3", to="callee", event="end"),
    ),
    callback_method="POST",
    callback_content_type="multipart/form-data",
)


def _connect(spec: CallSpec) -> WireRequest:
    return build_connect(
        spec, account_sid="acme1", v1_base="https://api.in.exotel.com", v3_base="https://ccm"
    )


def test_v1_connect_every_option_golden() -> None:
    req = _connect(V1_SPEC)
    assert req.method == "POST"
    assert req.url == "https://api.in.exotel.com/v1/Accounts/acme1/Calls/connect.json"
    assert req.json_body is None
    assert req.form == (
        ("From", "+919876543210"),
        ("To", "+918041234567"),
        ("CallerId", "08047112233"),
        ("CallType", "trans"),
        ("TimeLimit", "600"),
        ("TimeOut", "40"),
        ("WaitUrl", "https://audio.example/wait.wav"),
        ("Record", "true"),
        ("RecordingChannels", "dual"),
        ("RecordingFormat", "mp3-hq"),
        ("CustomField", "run-7/c-42/a-1"),
        ("StreamUrl", "wss://stream.example/s"),
        ("StreamBegin", "Leg2Connect"),
        ("StartPlaybackTo", "Both"),
        ("StartPlaybackValue", "https://audio.example/hello.mp3"),
        ("StatusCallback", "https://cb.example/exotel/v1/tok?x=1"),
        ("StatusCallbackEvents[0]", "terminal"),
        ("StatusCallbackEvents[1]", "answered"),
        ("StatusCallbackContentType", "application/json"),
    )
    assert req.content_type() == "application/x-www-form-urlencoded"
    assert req.body().startswith(b"From=%2B919876543210&To=%2B918041234567&CallerId=")


# Sent whatever the spec leaves unset: Exotel's v1 default for Record is true, and its
# ring time and call limit are undocumented (docs/campaign-format.md, "Explicit defaults").
V1_EXPLICIT = (("TimeLimit", "14400"), ("TimeOut", "30"), ("Record", "false"))


def test_v1_connect_minimal_omits_unset_fields_but_sends_explicit_defaults() -> None:
    spec = CallSpec(api="v1", first_leg="+919876543210", second_leg="0804", caller_id="080")
    assert _connect(spec).form == (
        ("From", "+919876543210"),
        ("To", "0804"),
        ("CallerId", "080"),
        *V1_EXPLICIT,
    )


@pytest.mark.parametrize(("record", "sent"), [(None, "false"), (False, "false"), (True, "true")])
def test_v1_record_is_always_sent(record: bool | None, sent: str) -> None:
    form = dict(_connect(replace(V1_SPEC, record=record)).form or ())
    assert form["Record"] == sent


def test_v1_record_false_and_stream_from_leg() -> None:
    spec = replace(V1_SPEC, record=False, stream_begin="from_leg_connect", playback=())
    form = dict(_connect(spec).form or ())
    assert form["Record"] == "false"
    assert form["StreamBegin"] == "Leg1Connect"
    assert "StartPlaybackTo" not in form
    assert "StartPlaybackValue" not in form


def test_v1_terminal_only_callback_without_content_type() -> None:
    spec = replace(V1_SPEC, callback_events=("terminal",), callback_content_type=None)
    form = dict(_connect(spec).form or ())
    assert form["StatusCallbackEvents[0]"] == "terminal"
    assert "StatusCallbackEvents[1]" not in form
    assert "StatusCallbackContentType" not in form


def test_v1_flow_uses_url_instead_of_to() -> None:
    spec = CallSpec(api="v1", first_leg="+919876543210", caller_id="080", flow_app_id="228040")
    assert _connect(spec).form == (
        ("From", "+919876543210"),
        ("Url", "http://my.exotel.com/acme1/exoml/start_voice/228040"),
        ("CallerId", "080"),
        *V1_EXPLICIT,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state_management": True}, "v1 connect has no state_management; use api: v3"),
        (
            {"playback": (Playback(url="u", event="end"),)},
            "v1 connect supports one start playback only; use api: v3",
        ),
        (
            {"playback": (Playback(url="u"), Playback(url="v"))},
            "v1 connect supports one start playback only; use api: v3",
        ),
        (
            {"callback_method": "GET"},
            "v1 StatusCallback is always a POST; use api: v3 for GET callbacks",
        ),
        ({"second_leg": None}, "a connect needs exactly one of second_leg and flow_app_id"),
        ({"flow_app_id": "1"}, "a connect needs exactly one of second_leg and flow_app_id"),
    ],
)
def test_v1_refuses_what_it_cannot_send(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        _connect(replace(V1_SPEC, **change))  # type: ignore[arg-type]


def test_v3_connect_every_option_golden() -> None:
    req = _connect(V3_SPEC)
    assert req.method == "POST"
    assert req.url == "https://ccm/v3/accounts/acme1/calls"
    assert req.form is None
    assert req.json_body == {
        "from": {"contact_uri": "+919876543210", "state_management": True},
        "to": {"contact_uri": "+918041234567"},
        "virtual_number": "08047112233",
        "recording": {"record": True, "channels": "dual", "format": "mp3-hq"},
        "wait_audio_url": "https://audio.example/wait.wav",
        "max_time_limit": 600,
        "attempt_time_out": 40,
        "custom_field": "run-7/c-42/a-1",
        "status_callback": [
            {
                "event": "terminal",
                "url": "https://cb.example/exotel/v1/tok?x=1",
                "method": "POST",
                "content_type": "multipart/form-data",
            },
            {
                "event": "answered",
                "url": "https://cb.example/exotel/v1/tok?x=1",
                "method": "POST",
                "content_type": "multipart/form-data",
            },
        ],
        "playback": [
            {"event": "start", "to": "both", "value": "https://audio.example/hello.mp3"},
            {"event": "end", "to": "callee", "value": "https://audio.example/bye.mp3"},
        ],
        "streaming": {"url": "wss://stream.example/s", "begin": "to_leg_connect"},
    }
    assert json.loads(req.body()) == req.json_body
    assert req.content_type() == "application/json"


def test_v3_minimal_has_mandatory_blocks_and_explicit_defaults() -> None:
    spec = CallSpec(api="v3", first_leg="+91987", second_leg="+91804", caller_id="+9180")
    assert _connect(spec).json_body == {
        "from": {"contact_uri": "+91987"},
        "to": {"contact_uri": "+91804"},
        "virtual_number": "+9180",
        "recording": {"record": False},
        "max_time_limit": 14400,
        "attempt_time_out": 30,
    }


def test_v3_refuses_flow() -> None:
    spec = CallSpec(api="v3", first_leg="+91987", caller_id="+9180", flow_app_id="1")
    with pytest.raises(ValueError, match="^connecting to a flow is v1 only; use api: v1$"):
        _connect(spec)


def test_v3_keys_are_the_reference_examples_keys() -> None:
    # Every key the page's own request example uses is spelled the same way by us.
    example = json.loads((REFERENCE / "v3_connect_request_example.json").read_text())
    ours = _connect(V3_SPEC).json_body or {}
    assert set(example) <= set(ours)
    assert set(example["from"]) == set(ours["from"])  # type: ignore[arg-type]
    assert set(example["status_callback"][0]) <= set(ours["status_callback"][0])  # type: ignore[index]


def _field_table(page: str) -> set[str]:
    """The field names in the first column of docs/exotel/<page>'s connect table."""
    text = (DOCS_EXOTEL / page).read_text()
    section = text.split("## Connect two numbers", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| (`[^|]+) \|", section, flags=re.MULTILINE)
    return {name for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)}


def test_v1_field_names_are_the_documented_field_list() -> None:
    documented = _field_table("v1.md")
    sent = {name for name, _ in _connect(V1_SPEC).form or ()}
    assert sent == documented | {"StatusCallbackEvents[1]"}  # [1]: public integrations
    assert "Url" in {
        name for name, _ in _connect(replace(V1_SPEC, second_leg=None, flow_app_id="9")).form or ()
    }


def test_v3_field_names_are_the_documented_field_list() -> None:
    documented = {name.split(".")[0] for name in _field_table("v3.md") if not name.startswith(".")}
    assert set(_connect(V3_SPEC).json_body or {}) == documented


def test_registry_is_explicit() -> None:
    assert set(REGISTRY) == {"v1", "v3"}
    with pytest.raises(ValueError, match=r"^unknown Exotel API 'v2'; known: v1, v3$"):
        _connect(replace(V1_SPEC, api="v2"))  # type: ignore[arg-type]
