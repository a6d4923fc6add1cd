"""The reference pages' own example payloads (tests/exotel/fixtures/reference/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from campaigner.domain import LegState
from campaigner.errors import BadRequestError, NotFoundError
from campaigner.exotel import classify, parse, parse_heartbeat, parse_v1_callback, parse_v3_callback
from campaigner.exotel.bodies import decode_object
from campaigner.exotel.values import IST

from .conftest import fixture_bytes, fixture_json

PLUS_0530 = timezone(timedelta(hours=5, minutes=30))


def form_pairs() -> list[tuple[str, str]]:
    """003's form example, one ``Name: value`` per line, as (name, value) pairs."""
    text = fixture_bytes("reference/v1_status_callback_example_form.txt").decode()
    return [(n, v.strip()) for n, v in (line.split(":", 1) for line in text.splitlines())]


def multipart(pairs: list[tuple[str, str]], boundary: str = "XyZ") -> bytes:
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
        for n, v in pairs
    ]
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


@pytest.mark.parametrize("name", ["v1_connect_response.json", "v1_connect_response.xml"])
def test_v1_connect_response_json_and_xml(name: str) -> None:
    obs = parse.v1_call(decode_object(fixture_bytes(f"reference/{name}")), "connect")
    assert (obs.source, obs.status, obs.terminal, obs.record_complete) == (
        "connect",
        "in-progress",
        False,
        False,
    )
    # null in JSON, empty elements in XML: both are "no value".
    assert (obs.ended_at, obs.duration, obs.price, obs.recording_url) == (None,) * 4
    assert obs.started_at is not None
    assert obs.started_at.tzinfo is IST


def test_v1_status_callback_json_example_keeps_contradiction() -> None:
    body = fixture_bytes("reference/v1_status_callback_example.json")
    obs = parse_v1_callback(body, "application/json")
    # The page's own example: Status no-answer while both legs say completed. Keep both.
    assert (obs.status, obs.legs) == (
        "no-answer",
        (LegState("completed", 41), LegState("completed", 32)),
    )
    assert (obs.to_number, obs.from_number) == ("+91886799XXXX", "+91941374XXXX")
    assert obs.ended_at == datetime(2019, 4, 8, 3, 18, 36, tzinfo=IST)


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_v1_status_callback_form_example(encoding: str) -> None:
    from urllib.parse import urlencode

    pairs = form_pairs()
    if encoding == "multipart":
        obs = parse_v1_callback(multipart(pairs), "multipart/form-data; boundary=XyZ")
    else:
        obs = parse_v1_callback(urlencode(pairs).encode(), "application/x-www-form-urlencoded")
    # "RecordingUrl:" empty and "Legs[1][Status]:" empty (never attempted) become None.
    assert obs.recording_url is None
    assert obs.legs == (LegState("no-answer", 0), LegState(None, 0))
    assert (obs.event, obs.terminal, obs.status, obs.talk_time) == (
        "terminal",
        True,
        "no-answer",
        0,
    )
    assert obs.raw["Legs"] == [
        {"Status": "no-answer", "OnCallDuration": "0"},
        {"Status": "", "OnCallDuration": "0"},
    ]


def test_faq_error_body() -> None:
    err = classify.classify(400, fixture_bytes("reference/v1_error_400_restexception.json"))
    assert type(err) is BadRequestError
    assert err.message == "Invalid parameter: 'To' must be a valid phone number"


def test_v3_connect_response_local_virtual_number() -> None:
    obs = parse.v3_call(fixture_json("reference/v3_connect_response.json"), "connect")
    assert (obs.api, obs.state, obs.status, obs.terminal) == ("v3", "active", None, False)
    assert obs.caller_id == "02241499102"  # local format, though E.164 was sent
    assert obs.raw["response"]["call_details"]["direction"] == "outbound"  # type: ignore[index]


def test_v3_call_details_active_epoch_zero_end_time() -> None:
    obs = parse.v3_call(fixture_json("reference/v3_call_details_active.json"), "details")
    assert obs.ended_at is None  # "1970-01-01 05:30:00+05:30" means not ended
    assert (obs.terminal, obs.record_complete) == (False, False)
    assert obs.started_at == datetime(2022, 11, 3, 22, 54, 57, tzinfo=PLUS_0530)


def test_v3_call_details_terminal_null_total_duration() -> None:
    obs = parse.v3_call(fixture_json("reference/v3_call_details_terminal.json"), "details")
    assert (obs.terminal, obs.record_complete, obs.status) == (True, True, "completed")
    assert (obs.duration, obs.talk_time) == (None, 59)
    assert obs.recording_url == (
        "https://s3-ap-south-1.amazonaws.com/exotel-mum1-recordings/Exotel/"
        "cabfb1dfa8c5e1c7f2c458423b7716b3.mp3"
    )


def test_v3_call_legs_several_attempts_per_side() -> None:
    # Two attempts on each side; "to" has a no-answer then a completed attempt.
    assert parse.v3_legs(fixture_json("reference/v3_call_legs.json")) == (
        LegState("completed"),
        LegState("completed"),
    )


def test_v3_callback_terminal() -> None:
    obs = parse_v3_callback(
        fixture_bytes("reference/v3_callback_terminal.json"), "application/json"
    )
    assert (obs.source, obs.event, obs.terminal, obs.record_complete) == (
        "callback",
        "terminal",
        True,
        True,
    )
    assert (obs.caller_id, obs.custom_field, obs.talk_time) == (
        "+912241499102",
        "bilbo_test_call",
        11,
    )


@pytest.mark.parametrize(
    ("name", "status", "incoming", "outgoing", "data"),
    [
        ("heartbeat_ok.json", "OK", (), (), {}),
        (
            "heartbeat_warning.json",
            "WARNING",
            ("07930061010",),
            (),
            {"07930061010": "+917930061010"},
        ),
        (
            "heartbeat_critical.json",
            "CRITICAL",
            ("07930061010", "08030752522"),
            ("07930061010", "08030752522"),
            {"07930061010": "+917930061010", "08030752522": "+918030752522"},
        ),
    ],
)
def test_heartbeat_scenarios(
    name: str,
    status: str,
    incoming: tuple[str, ...],
    outgoing: tuple[str, ...],
    data: dict[str, str],
) -> None:
    beat = parse_heartbeat(fixture_bytes(f"reference/{name}"), "application/json")
    assert beat.timestamp == datetime(2018, 8, 22, 15, 19, 23, tzinfo=UTC)
    assert (beat.status_type, beat.incoming_affected, beat.outgoing_affected) == (
        status,
        incoming,
        outgoing,
    )
    assert beat.data == data


def test_v2_exophone_details() -> None:
    details = parse.exophone(fixture_json("reference/v2_exophone_details.json"))
    assert (details.sid, details.phone_number) == ("01139585476", "+911139585476")
    assert (details.incoming_status, details.outgoing_status) == ("active", "active")
    assert details.outgoing_alternates == ()  # null
    assert details.last_check_time == datetime(2018, 8, 24, 11, 25, 49, tzinfo=UTC)


def test_v2_error_data_not_found() -> None:
    err = classify.classify(404, fixture_bytes("reference/v2_error_data_not_found.json"))
    assert type(err) is NotFoundError
    assert (err.code, err.message) == ("1000", "Not Found")
