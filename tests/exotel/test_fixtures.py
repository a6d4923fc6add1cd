"""One test per vendored public payload (tests/exotel/fixtures, provenance in SOURCES.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from campaigner.domain import LegState
from campaigner.errors import (
    BadRequestError,
    CallbackError,
    ConflictError,
    DndRefusedError,
    NotFoundError,
)
from campaigner.exotel import classify, envelope, parse, parse_v1_callback
from campaigner.exotel.bodies import decode_object
from campaigner.exotel.v1_records import V1Callback
from campaigner.exotel.values import IST

from .conftest import FIXTURES, fixture_bytes, fixture_json

PAYLOADS = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".xml"))


def ist(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=IST)  # type: ignore[misc]


def test_every_payload_has_its_provenance_and_a_test() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    tests = Path(__file__).read_text()
    for name in PAYLOADS:
        assert f"`{name}`" in sources, f"{name} has no row in SOURCES.md"
        assert f'"{name}"' in tests, f"{name} is not asserted by a test here"


def test_v1_connect_403_ndnc_xml() -> None:
    err = classify.classify(403, fixture_bytes("v1_connect_403_ndnc_restexception.xml"))
    assert type(err) is DndRefusedError
    assert str(err) == ("HTTP 403: Call to [01234] cannot be made because of TRAI NDNC regulations")


def test_v1_call_details_completed_inbound() -> None:
    obs = parse.v1_call(fixture_json("v1_call_details_completed_inbound.json"), "details")
    # Duration and Price as numbers (17, 0), "" for ParentCallSid and RecordingUrl.
    assert (obs.duration, obs.price, obs.recording_url) == (17, Decimal("0"), None)
    assert obs.terminal
    assert obs.record_complete
    assert obs.ended_at == ist(2019, 3, 21, 18, 15, 22)
    assert obs.raw["Call"]["AnsweredBy"] == "human"  # type: ignore[index]


def test_v1_call_details_404_no_matching_results() -> None:
    err = classify.classify(404, fixture_bytes("v1_call_details_404_no_matching_results.json"))
    assert type(err) is NotFoundError
    assert (err.status, err.code, err.message) == (404, None, "No matching results")


def test_v1_call_object_endtime_epoch_placeholder() -> None:
    obs = parse.v1_record(
        fixture_json("v1_call_object_completed_endtime_epoch_placeholder.json"), "details"
    )
    # Status completed, but EndTime "1970-01-01 05:30:00" and Duration null: not final yet.
    assert obs.sid == "9f35ba019e7fa54dcb0fab868a7019av"  # alphanumeric, not hex
    assert (obs.status, obs.terminal, obs.ended_at, obs.duration) == ("completed", True, None, None)
    assert obs.record_complete is False


def test_v1_call_object_duration_price_pending() -> None:
    obs = parse.v1_record(
        fixture_json("v1_call_object_completed_duration_price_pending.json"), "details"
    )
    # A real EndTime but Duration/Price still null: still not complete.
    assert obs.ended_at == ist(2025, 11, 11, 19, 51, 21)
    assert (obs.duration, obs.price, obs.record_complete) == (None, None, False)
    assert obs.from_number == "07XXXXXXX08"


def test_v1_call_details_with_details_true() -> None:
    obs = parse.v1_call(fixture_json("v1_call_details_with_details_true.json"), "details")
    assert obs.detail_leg_status == ("completed", "completed")
    assert obs.legs == (LegState("completed", 21), LegState("completed", 8))
    assert (obs.talk_time, obs.duration, obs.price) == (8, 17, Decimal("1.500"))
    assert obs.recording_url == "https://s3-ap-southeast-1.amazonaws.com/.../recording.mp3"


def test_v1_bulk_calls_metadata_page() -> None:
    calls, cursor = parse.v1_bulk(fixture_json("v1_bulk_calls_metadata_page.json"))
    assert cursor == ("After", "xyz...")
    assert [(c.sid, c.source, c.status, c.duration) for c in calls] == [
        ("c5797dcbaaeed7678c4062a4a3ed2f8a", "bulk", "completed", 45)
    ]
    # No EndTime in the entry: terminal, but the record is not known to be complete.
    assert calls[0].terminal
    assert not calls[0].record_complete


@pytest.mark.parametrize(
    ("name", "phone", "circle", "operator"),
    [
        ("v1_numbers_metadata.json", "0XXXXX30240", "Gujarat Telecom Circle", "Reliance"),
        (
            "v1_numbers_metadata_spec_stub.json",
            "<Faker::PhoneNumber.phone_number>",
            "Karnataka",
            "Vodafone",
        ),
    ],
)
def test_v1_numbers_metadata(name: str, phone: str, circle: str, operator: str) -> None:
    meta = parse.v1_numbers(fixture_json(name))
    assert (meta.phone_number, meta.circle_name, meta.operator_name) == (phone, circle, operator)
    assert (meta.number_type, meta.dnd) == ("Mobile", True)


def test_v1_customer_whitelist_stub_is_not_a_call() -> None:
    # An endpoint campaigner does not use: as a call answer it is refused, not misread.
    with pytest.raises(parse.ParseError, match=r"^v1 call: Call: Field required$"):
        parse.v1_call(fixture_json("v1_customer_whitelist_details_spec_stub.json"), "details")


def test_v1_status_callback_legs_with_answeredby() -> None:
    legs = fixture_json("v1_status_callback_legs_with_answeredby.json")
    callback = V1Callback.model_validate({"CallSid": "x", "Status": "completed", **legs})
    assert [(leg.answered_by, leg.on_call_duration) for leg in callback.legs] == [
        ("na", 41),
        ("human", 32),  # "HUMAN" on the wire
    ]


def test_v1_status_callback_terminal_json() -> None:
    obs = parse_v1_callback(
        fixture_bytes("v1_status_callback_terminal_json.json"), "application/json"
    )
    assert (obs.event, obs.terminal, obs.status, obs.talk_time) == (
        "terminal",
        True,
        "completed",
        320,
    )
    assert obs.legs == (LegState("completed", 335), LegState("completed", 320))
    assert obs.custom_field == "order_12345"
    assert obs.record_complete
    assert obs.ended_at == ist(2024, 1, 15, 14, 30, 45)


def test_passthru_dial_event_is_not_terminal() -> None:
    # A passthru applet's "Dial" event: an EventType the StatusCallback page does not name
    # (it says more may come) is kept as a non-terminal status, never a final outcome.
    obs = parse_v1_callback(fixture_bytes("passthru_incoming_dial_busy.json"), "application/json")
    assert (obs.event, obs.terminal, obs.status) == ("status", False, "busy")


@pytest.mark.parametrize(
    "name",
    [
        "passthru_incoming_end_client_hangup.json",
        "passthru_incoming_end_completed.json",
        "passthru_incoming_end_no_answer.json",
        "voicebot_applet_dynamic_url_params_live.json",
    ],
)
def test_applet_payloads_without_status_are_refused_clearly(name: str) -> None:
    # No EventType reads as the basic terminal callback, which always has Status; these
    # applet payloads have none, so they must not become a terminal observation.
    with pytest.raises(CallbackError) as info:
        parse_v1_callback(fixture_bytes(name), "application/json")
    assert str(info.value) == (
        "v1 callback: a terminal callback (EventType terminal or none) needs a Status"
    )


def test_passthru_payload_fields_read_by_the_v1_model() -> None:
    # Their v1-shaped fields are still read leniently: "1970-01-01 05:30:00", Legs
    # without Status, OnCallDuration as text.
    data = fixture_json("passthru_incoming_end_completed.json")
    callback = V1Callback.model_validate(data)
    assert callback.end_time is None
    assert [(leg.status, leg.on_call_duration) for leg in callback.legs] == [(None, 10)]


def test_v2_envelope_200_list_response_with_metadata() -> None:
    doc = fixture_json("v2_envelope_200_list_response_with_metadata.json")
    assert classify.inner_failure(200, doc) is None
    assert [item["data"]["id"] for item in envelope.items(doc)] == ["2543"]  # type: ignore[index]


def test_v2_envelope_http_200_with_409_failure() -> None:
    body = fixture_bytes("v2_envelope_http_code_200_with_409_failure.json")
    assert classify.inner_failure(200, decode_object(body)) == (
        409,
        "1008",
        "Duplicate resource: Unable to create DidTrunkMapping with TrunkSid "
        "trmum15f77c83605998cdb9d1a1n",
    )
    err = classify.classify(409, body)
    assert type(err) is ConflictError
    assert err.code == "1008"


def test_v2_envelope_207_multistatus_item_failure() -> None:
    doc = fixture_json("v2_envelope_207_multistatus_item_failure.json")
    assert classify.inner_failure(207, doc) == (
        400,
        "1002",
        "Invalid parameter: Destination is not a valid Ip or Fqdn",
    )
    assert (
        type(classify.classify(400, fixture_bytes("v2_envelope_207_multistatus_item_failure.json")))
        is BadRequestError
    )


def test_details_legs_without_the_leg_wrapper() -> None:
    doc = fixture_json("v1_call_details_with_details_true.json")
    details = doc["Call"]["Details"]  # type: ignore[index]
    details["Legs"] = [item["Leg"] for item in details["Legs"]]  # type: ignore[index]
    obs = parse.v1_call(doc, "details")
    assert obs.legs == (LegState("completed", 21), LegState("completed", 8))
