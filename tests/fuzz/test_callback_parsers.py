"""Callback parsers, fuzzed with structure: nested JSON and bracket-keyed forms built from
the fields Exotel sends, with hostile values. Anything malformed is a one-line
``CallbackError``; anything accepted can be journaled and judged the way the tracker does
with a callback (``_observe_unopen`` and ``verdict``) without an exception.

``tests/exotel/test_callbacks.py`` covers arbitrary bytes and flat garbage; these reach the
models' nested validators (legs, dates, durations, recordings, heartbeat data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from campaigner.errors import CallbackError
from campaigner.exotel import parse_heartbeat, parse_v1_callback, parse_v3_callback
from campaigner.outcomes import verdict
from campaigner.store.journal import Journal
from tests.fuzz.strategies import dumps, fuzz, json_scalars, json_values

V1_FIELDS = [
    "CallSid",
    "Status",
    "EventType",
    "RecordingUrl",
    "DateUpdated",
    "DateCreated",
    "To",
    "From",
    "PhoneNumberSid",
    "StartTime",
    "EndTime",
    "ConversationDuration",
    "Direction",
    "CustomField",
    "Legs",
]
LEG_FIELDS = ["Status", "OnCallDuration", "AnsweredBy"]
V3_FIELDS = [
    "sid",
    "direction",
    "virtual_number",
    "state",
    "status",
    "created_time",
    "updated_time",
    "start_time",
    "end_time",
    "total_duration",
    "total_talk_time",
    "custom_field",
    "recordings",
]
HEARTBEAT_FIELDS = ["timestamp", "status_type", "incoming_affected", "outgoing_affected", "data"]
SID = st.sampled_from(["0ed3bd4755078e1f9f64d2de75ce16b3", "x", "", " "]) | st.text(max_size=40)


def objects(fields: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=8), values, max_size=8)


legs = st.lists(objects(LEG_FIELDS, json_scalars), max_size=3) | json_values
v1_bodies = st.fixed_dictionaries({"CallSid": SID}, optional={"Legs": legs}).flatmap(
    lambda base: objects(V1_FIELDS, json_values).map(lambda extra: {**extra, **base})
)
recordings = st.lists(st.dictionaries(st.just("url"), json_scalars), max_size=2) | json_values
v3_details = st.fixed_dictionaries({"sid": SID}, optional={"recordings": recordings}).flatmap(
    lambda base: objects(V3_FIELDS, json_values).map(lambda extra: {**extra, **base})
)
v3_bodies = st.fixed_dictionaries(
    {"call_details": v3_details},
    optional={"event_details": st.dictionaries(st.just("event_type"), json_scalars) | json_values},
)
heartbeats = objects(HEARTBEAT_FIELDS, json_values) | st.fixed_dictionaries(
    {
        "timestamp": st.sampled_from(["2026-11-23T10:00:00Z", "2026-11-23T10:00:00+05:30"])
        | json_scalars,
        "status_type": st.sampled_from(["OK", "WARNING", "CRITICAL", "PAYLOAD_TOO_LARGE"])
        | json_scalars,
    },
    optional={
        "outgoing_affected": st.lists(json_scalars, max_size=3) | json_values,
        "data": st.dictionaries(
            st.text(max_size=12),
            st.dictionaries(st.just("phone_number"), json_scalars) | json_values,
            max_size=3,
        ),
    },
)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested data as bracket-keyed form pairs (``Legs[0][Status]=...``)."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return [(prefix, "" if value is None else str(value))]
    pairs: list[tuple[str, str]] = []
    for key, item in items:
        pairs += flatten(item, f"{prefix}[{key}]" if prefix else str(key))
    return pairs


def journal_it(tmp_path: Path, obs: Any) -> None:
    """What the tracker does with a callback whose SID it does not know, then the verdict."""
    with Journal.open(tmp_path / "fuzz.sqlite3") as journal:
        assert journal.call_by_sid(obs.sid) is None
        journal.record_event(
            at=0.0,
            sid=obs.sid,
            call_id=None,
            source=obs.source,
            event=obs.event,
            status=obs.status,
            effect="unmatched",
            payload=obs.raw,
        )
        assert journal.unmatched_payloads(obs.sid)
    for mode in ("agent_first", "contact_first"):
        verdict(obs, mode)  # type: ignore[arg-type]


def one_line(exc: CallbackError) -> None:
    assert len(str(exc).splitlines()) == 1, str(exc)


@fuzz()
@given(body=v1_bodies, encoding=st.sampled_from(["json", "form"]))
def test_v1_structured_bodies(tmp_path: Path, body: dict[str, Any], encoding: str) -> None:
    if encoding == "json":
        raw, content_type = dumps(body), "application/json"
    else:
        raw, content_type = urlencode(flatten(body)).encode(), "application/x-www-form-urlencoded"
    try:
        obs = parse_v1_callback(raw, content_type)
    except CallbackError as exc:
        one_line(exc)
        return
    journal_it(tmp_path, obs)


@fuzz()
@given(body=v3_bodies, encoding=st.sampled_from(["json", "form", "get"]))
def test_v3_structured_bodies(tmp_path: Path, body: dict[str, Any], encoding: str) -> None:
    query = urlencode(flatten(body))
    try:
        if encoding == "json":
            obs = parse_v3_callback(dumps(body), "application/json")
        elif encoding == "form":
            obs = parse_v3_callback(query.encode(), "application/x-www-form-urlencoded")
        else:
            obs = parse_v3_callback(b"", "", query, method="GET")
    except CallbackError as exc:
        one_line(exc)
        return
    journal_it(tmp_path, obs)


@fuzz()
@given(body=heartbeats)
def test_heartbeat_structured_bodies(body: dict[str, Any]) -> None:
    try:
        beat = parse_heartbeat(dumps(body), "application/json")
    except CallbackError as exc:
        one_line(exc)
        return
    assert all(isinstance(sid, str) for sid in beat.outgoing_affected)


@fuzz()
@given(
    depth=st.integers(1, 3000),
    key=st.sampled_from(["Legs", "call_details", "a"]),
    index=st.sampled_from(["0", "", "x", "99", "100", "9" * 5000, "²"]),
)
def test_deep_and_strange_bracket_keys(depth: int, key: str, index: str) -> None:
    body = urlencode([("CallSid", "s"), ("Status", "busy"), (key + f"[{index}]" * depth, "v")])
    for parse in (parse_v1_callback, parse_v3_callback):
        try:
            parse(body.encode(), "application/x-www-form-urlencoded")
        except CallbackError as exc:
            one_line(exc)


@fuzz()
@given(depth=st.integers(1, 100_000), opener=st.sampled_from(["[", '{"a":']))
def test_deeply_nested_json(depth: int, opener: str) -> None:
    body = ('{"CallSid": "s", "Legs": ' + opener * depth).encode()
    for parse in (
        lambda: parse_v1_callback(body, "application/json"),
        lambda: parse_v3_callback(body, "application/json"),
        lambda: parse_heartbeat(body, "application/json"),
    ):
        try:
            parse()
        except CallbackError as exc:
            one_line(exc)
