"""Callback parsing: every encoding gives the same observation; malformed input is a
CallbackError with a one-line message, and nothing else ever escapes."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigner.domain import LegState
from campaigner.errors import CallbackError
from campaigner.exotel import parse_heartbeat, parse_v1_callback, parse_v3_callback
from campaigner.exotel.values import IST

from .test_reference_examples import multipart

FORM = "application/x-www-form-urlencoded"
MULTI = "multipart/form-data; boundary=XyZ"
SID = "0ed3bd4755078e1f9f64d2de75ce16b3"

V1_ANSWERED_FIRST = [
    ("CallSid", SID),
    ("EventType", "answered"),
    ("Status", "in-progress"),
    ("Legs[0][Status]", "in-progress"),
    ("Legs[0][OnCallDuration]", "0"),
    ("Legs[1][Status]", ""),
    ("Legs[1][OnCallDuration]", "0"),
]
V1_BASIC = [
    ("CallSid", SID),
    ("Status", "busy"),
    ("RecordingUrl", ""),
    ("DateUpdated", "2019-04-08 03:11:28"),
]


def encode(pairs: list[tuple[str, str]], kind: str) -> tuple[bytes, str]:
    if kind == "form":
        return urlencode(pairs).encode(), FORM
    return multipart(pairs), MULTI


@pytest.mark.parametrize("kind", ["form", "multipart"])
def test_v1_answered_is_not_terminal(kind: str) -> None:
    obs = parse_v1_callback(*encode(V1_ANSWERED_FIRST, kind))
    assert (obs.event, obs.terminal, obs.status) == ("answered", False, "in-progress")
    assert obs.legs == (LegState("in-progress", 0), LegState(None, 0))


@pytest.mark.parametrize("kind", ["form", "multipart"])
def test_v1_basic_four_field_callback_is_terminal(kind: str) -> None:
    obs = parse_v1_callback(*encode(V1_BASIC, kind))
    assert (obs.event, obs.terminal, obs.status, obs.recording_url) == (
        "terminal",
        True,
        "busy",
        None,
    )
    # A basic callback has no EndTime: terminal, but the record is not complete.
    assert obs.record_complete is False


def test_v1_json_callback_equals_form_callback() -> None:
    pairs = [
        ("CallSid", SID),
        ("EventType", "terminal"),
        ("Status", "completed"),
        ("EndTime", "2024-01-15 14:30:45"),
        ("ConversationDuration", "320"),
        ("Legs[0][Status]", "completed"),
        ("Legs[0][OnCallDuration]", "335"),
        ("Legs[1][Status]", "completed"),
        ("Legs[1][OnCallDuration]", "320"),
    ]
    as_json = {
        "CallSid": SID,
        "EventType": "terminal",
        "Status": "completed",
        "EndTime": "2024-01-15 14:30:45",
        "ConversationDuration": 320,
        "Legs": [
            {"Status": "completed", "OnCallDuration": 335},
            {"Status": "completed", "OnCallDuration": 320},
        ],
    }
    from_json = parse_v1_callback(json.dumps(as_json).encode(), "application/json; charset=utf-8")
    for kind in ("form", "multipart"):
        assert parse_v1_callback(*encode(pairs, kind)) == from_json
    assert from_json.ended_at == datetime(2024, 1, 15, 14, 30, 45, tzinfo=IST)


def test_v1_legs_in_any_order() -> None:
    pairs = [("CallSid", SID), ("Status", "failed"), ("Legs[1][Status]", "canceled")]
    pairs += [("Legs[0][Status]", "completed")]
    obs = parse_v1_callback(*encode(pairs, "form"))
    assert obs.legs == (LegState("completed"), LegState("canceled"))


def test_v1_query_is_ignored_when_there_is_a_body() -> None:
    body, kind = encode(V1_BASIC, "form")
    obs = parse_v1_callback(body, kind, query="token=s3cr3t")
    assert "token" not in obs.raw


def test_v1_empty_body_reads_the_query() -> None:
    obs = parse_v1_callback(b"", "", query=urlencode(V1_BASIC))
    assert (obs.sid, obs.status) == (SID, "busy")


V3_CALL = {
    "sid": SID,
    "direction": "outbound",
    "virtual_number": "+912241499102",
    "state": "terminal",
    "status": "completed",
    "end_time": "2022-11-03 00:19:02+05:30",
    "total_duration": None,
    "total_talk_time": 11,
    "recordings": [{"url": "https://rec.example/1.mp3"}],
}


def v3_expected_fields(obs: object) -> tuple[object, ...]:
    return (
        obs.sid,  # type: ignore[attr-defined]
        obs.event,  # type: ignore[attr-defined]
        obs.terminal,  # type: ignore[attr-defined]
        obs.status,  # type: ignore[attr-defined]
        obs.talk_time,  # type: ignore[attr-defined]
        obs.recording_url,  # type: ignore[attr-defined]
        obs.ended_at,  # type: ignore[attr-defined]
    )


V3_EXPECTED = (
    SID,
    "terminal",
    True,
    "completed",
    11,
    "https://rec.example/1.mp3",
    datetime(2022, 11, 2, 18, 49, 2, tzinfo=UTC),
)
V3_NESTED_PAIRS = [
    ("event_details[event_type]", "terminal"),
    ("call_details[sid]", SID),
    ("call_details[direction]", "outbound"),
    ("call_details[state]", "terminal"),
    ("call_details[status]", "completed"),
    ("call_details[end_time]", "2022-11-03 00:19:02+05:30"),
    ("call_details[total_duration]", ""),
    ("call_details[total_talk_time]", "11"),
    ("call_details[recordings][0][url]", "https://rec.example/1.mp3"),
]
V3_FLAT_PAIRS = (
    [("event_type", "terminal")]
    + [
        (k.removeprefix("call_details[").replace("]", "", 1), v)
        for k, v in V3_NESTED_PAIRS[1:]
        if not k.startswith("call_details[recordings]")
    ]
    + [("recordings[0][url]", "https://rec.example/1.mp3")]
)


def test_v3_json() -> None:
    body = json.dumps({"event_details": {"event_type": "terminal"}, "call_details": V3_CALL})
    assert v3_expected_fields(parse_v3_callback(body.encode(), "application/json")) == V3_EXPECTED


@pytest.mark.parametrize("pairs", [V3_NESTED_PAIRS, V3_FLAT_PAIRS], ids=["nested", "flat"])
@pytest.mark.parametrize("kind", ["form", "multipart", "get"])
def test_v3_form_multipart_and_get(pairs: list[tuple[str, str]], kind: str) -> None:
    if kind == "get":
        obs = parse_v3_callback(b"", "", query=urlencode(pairs), method="GET")
    else:
        obs = parse_v3_callback(*encode(pairs, kind))
    assert v3_expected_fields(obs) == V3_EXPECTED


def test_v3_answered_per_leg() -> None:
    body = {
        "event_details": {"event_type": "answered"},
        "call_details": {**V3_CALL, "state": "active", "status": None, "end_time": None},
    }
    obs = parse_v3_callback(json.dumps(body).encode(), "application/json")
    assert (obs.event, obs.terminal, obs.state, obs.record_complete) == (
        "answered",
        False,
        "active",
        False,
    )


def test_v3_without_event_type_uses_state() -> None:
    body = json.dumps({"call_details": V3_CALL}).encode()
    assert parse_v3_callback(body, "application/json").event == "terminal"
    active = json.dumps({"call_details": {**V3_CALL, "state": "active"}}).encode()
    assert parse_v3_callback(active, "application/json").event == "status"


@pytest.mark.parametrize(
    ("parser", "body", "content_type", "message"),
    [
        (parse_v1_callback, b"{", "application/json", "v1 callback: body is not valid JSON"),
        (
            parse_v1_callback,
            b"[1]",
            "application/json",
            "v1 callback: expected a JSON object, got list",
        ),
        (parse_v1_callback, b"{}", "application/json", "v1 callback: CallSid: Field required"),
        (
            parse_v1_callback,
            b'{"CallSid": "x", "Status": "completed", "Legs": {"a": 1}}',
            "application/json",
            "v1 callback: Legs: Input should be a valid list",
        ),
        (
            parse_v1_callback,
            b'{"CallSid": "x", "Status": "completed", "ConversationDuration": "12s"}',
            "application/json",
            "v1 callback: ConversationDuration: Value error, expected a whole number, got str",
        ),
        (parse_v1_callback, b"CallSid=%ff", FORM, "v1 callback: form fields are not valid UTF-8"),
        (
            parse_v1_callback,
            b"\xff\xfe",
            "application/json",
            "v1 callback: body is not valid UTF-8",
        ),
        (
            parse_v1_callback,
            b"a=1",
            "text/plain",
            "v1 callback: unsupported content type 'text/plain'",
        ),
        (
            parse_v1_callback,
            b"CallSid=x&CallSid=y",
            FORM,
            "v1 callback: field 'CallSid' is given twice",
        ),
        (
            parse_v1_callback,
            b"CallSid=x&Legs[1][Status]=busy",
            FORM,
            "v1 callback: indexes of 'Legs' are not 0, 1, 2, ...",
        ),
        (
            parse_v1_callback,
            b"CallSid=x&Legs=1&Legs[0][Status]=busy",
            FORM,
            "v1 callback: field 'Legs[0][Status]' conflicts with another field",
        ),
        (
            parse_v1_callback,
            b"CallSid=x&Legs[100][Status]=busy",
            FORM,
            "v1 callback: field 'Legs[100][Status]' has an index above 99",
        ),
        (parse_v1_callback, b"--XyZ\r\n", MULTI, "v1 callback: malformed multipart/form-data body"),
        (
            parse_v1_callback,
            b"x",
            "multipart/form-data",
            "v1 callback: multipart/form-data without a boundary",
        ),
        (parse_v1_callback, b"", FORM, "v1 callback: empty callback: no body and no query string"),
        (
            parse_v1_callback,
            b"x" * (1024 * 1024 + 1),
            FORM,
            "v1 callback: body of 1048577 bytes exceeds the 1048576-byte limit",
        ),
        (
            parse_v3_callback,
            b"{}",
            "application/json",
            "v3 callback: call_details.sid: Field required",
        ),
        (
            parse_v3_callback,
            b'{"call_details": {"sid": "x", "end_time": "yesterday"}}',
            "application/json",
            "v3 callback: call_details.end_time: Value error, expected YYYY-MM-DD HH:mm:ss[+hh:mm]",
        ),
        (
            parse_heartbeat,
            b"{}",
            "application/json",
            "heartbeat: timestamp: Field required (and 1 more)",
        ),
        (
            parse_heartbeat,
            b'{"timestamp": "2018-08-22T15:19:23", "status_type": "OK"}',
            "application/json",
            "heartbeat: timestamp: Value error, an RFC 3339 timestamp needs an offset or Z",
        ),
        (
            parse_heartbeat,
            b'{"timestamp": "2018-08-22T15:19:23Z", "status_type": "FINE"}',
            "application/json",
            "heartbeat: status_type: Input should be 'OK', 'WARNING', 'CRITICAL' or "
            "'PAYLOAD_TOO_LARGE'",
        ),
        (
            parse_heartbeat,
            b'{"timestamp": "2018-08-22T15:19:23Z", "status_type": "OK", "data": []}',
            "application/json",
            "heartbeat: data: Value error, data must be an object",
        ),
    ],
)
def test_malformed_input_whole_messages(
    parser: object, body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(CallbackError) as info:
        parser(body, content_type)  # type: ignore[operator]
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_heartbeat_payload_too_large_and_absent_lists() -> None:
    body = b'{"timestamp": "2018-08-22T15:19:23+05:30", "status_type": "PAYLOAD_TOO_LARGE"}'
    beat = parse_heartbeat(body, "application/json")
    assert (beat.status_type, beat.incoming_affected, beat.outgoing_affected, beat.data) == (
        "PAYLOAD_TOO_LARGE",
        (),
        (),
        {},
    )
    assert beat.timestamp == datetime(2018, 8, 22, 9, 49, 23, tzinfo=UTC)


CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        FORM,
        MULTI,
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "text/plain",
        "",
    ]
) | st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400), content_type=CONTENT_TYPES, query=st.text(max_size=40))
def test_arbitrary_bytes_only_raise_callback_error(
    body: bytes, content_type: str, query: str
) -> None:
    for parse in (
        lambda: parse_v1_callback(body, content_type, query),
        lambda: parse_v3_callback(body, content_type, query),
        lambda: parse_v3_callback(body, content_type, query, method="GET"),
        lambda: parse_heartbeat(body, content_type),
    ):
        try:
            parse()
        except CallbackError as exc:
            lines = str(exc).splitlines()
            if len(lines) > 1:
                pytest.fail(f"a multi-line CallbackError: {lines!r}")


FIELD_NAMES = st.sampled_from(
    [
        "CallSid",
        "Status",
        "EventType",
        "Legs[0][Status]",
        "Legs[1][OnCallDuration]",
        "Legs[]",
        "EndTime",
        "ConversationDuration",
        "call_details[sid]",
        "event_details[event_type]",
        "call_details[recordings][0][url]",
        "sid",
        "state",
        "Legs",
        "a[b",
        "][",
    ]
) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(st.tuples(FIELD_NAMES, st.text(max_size=20)), max_size=8),
    kind=st.sampled_from(["form", "multipart", "json"]),
)
def test_structured_garbage_only_raises_callback_error(
    pairs: list[tuple[str, str]], kind: str
) -> None:
    if kind == "json":
        body, content_type = json.dumps(dict(pairs)).encode(), "application/json"
    else:
        body, content_type = encode(pairs, kind)
    for parse in (parse_v1_callback, parse_v3_callback):
        with contextlib.suppress(CallbackError):
            parse(body, content_type)
