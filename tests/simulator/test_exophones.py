"""v2 ExoPhone details, number metadata, the heartbeat pusher and its timeline."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio

from campaigner.simulator import Simulator
from campaigner.simulator.exophones import V2_DATA_FIELDS
from tests.simulator.conftest import V1, Recorder, SimFactory, api_client

V2 = "/v2/accounts/sandbox/incoming-phone-numbers"
HEARTBEAT = "http://hooks.test/heartbeat/t0k3n"

# 000 page, "Description of Parameters" of Get details of an ExoPhone, in the example's order.
DOCUMENTED_V2_FIELDS = [
    "sid",
    "date_created",
    "date_updated",
    "friendly_name",
    "account_sid",
    "phone_number",
    "capabilities",
    "country",
    "region",
    "one_time_price",
    "rental_price",
    "incoming_rate",
    "incoming_pulse",
    "currency",
    "number_type",
    "vanity_number",
    "voice_url",
    "sms_url",
    "uri",
    "connectivity",
]


def test_v2_field_list_matches_the_page() -> None:
    assert list(V2_DATA_FIELDS) == DOCUMENTED_V2_FIELDS


async def test_v2_details_envelope_and_connectivity(sim: Simulator, api: httpx.AsyncClient) -> None:
    sim.set_exophone_health("02241499102", outgoing="major_outage")
    body = (await api.get(f"{V2}/02241499102")).json()
    assert list(body) == ["request_id", "method", "http_code", "metadata", "response"]
    assert (body["method"], body["http_code"], body["metadata"]) == (
        "GET",
        200,
        {"page_size": 1, "page": 0},
    )
    (item,) = body["response"]
    assert (item["code"], item["error_data"], item["status"]) == (200, None, "success")
    data = item["data"]
    assert list(data) == DOCUMENTED_V2_FIELDS
    assert (data["sid"], data["phone_number"]) == ("02241499102", "+912241499102")
    checked = data["connectivity"]["incoming_call"]["last_check_time"]
    assert data["connectivity"] == {
        "incoming_call": {
            "status": "active",
            "last_check_time": checked,
            "alternate_exophone": ["+918047091234"],
        },
        "outgoing_call": {
            "status": "major_outage",
            "last_check_time": checked,
            "alternate_exophone": ["+918047091234"],
        },
    }
    assert checked.endswith("Z")


async def test_v2_unknown_exophone_is_404_in_the_envelope(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{V2}/09999999999")
    assert response.status_code == 404
    (item,) = response.json()["response"]
    assert item == {
        "code": 404,
        "error_data": {"code": 1000, "description": "Not Found", "message": "Not Found"},
        "status": "failure",
        "data": None,
    }


async def test_number_metadata(make_sim: SimFactory) -> None:
    numbers: dict[str, Any] = {
        "+919811111111": {"dnd": True, "circle": "KA", "operator": "V"},
        "+919822222222": {"dnd": "unavailable"},
        "+918041234567": {},
    }
    sim = make_sim(numbers=numbers)
    async with api_client(sim) as api:
        dnd = (await api.get(f"{V1}/Numbers/+919811111111.json")).json()
        unknown = (await api.get(f"{V1}/Numbers/09822222222.json")).json()
        landline = (await api.get(f"{V1}/Numbers/%2B918041234567.json")).json()
        xml = await api.get(f"{V1}/Numbers/9811111111")
        foreign = await api.get(f"{V1}/Numbers/+14155552671.json")
        invalid = await api.get(f"{V1}/Numbers/12345.json")
    assert dnd == {
        "Numbers": {
            "PhoneNumber": "09811111111",
            "Circle": "KA",
            "CircleName": "Karnataka Telecom Circle",
            "Type": "Mobile",
            "Operator": "V",
            "OperatorName": "Vodafone Idea",
            "DND": "Yes",
        }
    }
    assert unknown["Numbers"]["DND"] == "Unavailable"
    assert (landline["Numbers"]["Type"], landline["Numbers"]["DND"]) == ("Landline", "No")
    assert "<Numbers><PhoneNumber>09811111111</PhoneNumber>" in xml.text
    assert foreign.json() == {
        "RestException": {
            "Status": 400,
            "Message": "Number metadata is available for Indian numbers only: '+14155552671'",
        }
    }
    assert invalid.status_code == 400


def _beats(recorder: Recorder) -> list[tuple[float, dict[str, Any]]]:
    return [(got.time, json.loads(got.body)) for got in recorder.got if got.url == HEARTBEAT]


async def test_heartbeats_follow_the_timeline(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    timeline = [
        {"at": 150, "exophone": "02241499102", "outgoing": "major_outage"},
        {"at": 250, "exophone": "08047091234", "incoming": "partial_network_outage"},
        {"at": 250, "exophone": "01139585476", "outgoing": "major_outage"},
        {"at": 350, "exophone": "02241499102", "outgoing": "active"},
    ]
    sim = make_sim(heartbeat={"url": HEARTBEAT, "interval": 100, "timeline": timeline})
    await nursery.start(sim.run)
    await trio.sleep_until(sim.start + 450)
    beats = _beats(recorder)
    assert [t - sim.start for t, _ in beats] == [0, 100, 200, 300, 400]
    summary = [
        (b["status_type"], b["incoming_affected"], b["outgoing_affected"], sorted(b["data"]))
        for _, b in beats
    ]
    assert summary == [
        ("OK", None, None, []),
        ("OK", None, None, []),
        ("WARNING", None, ["02241499102"], ["02241499102"]),
        (
            "CRITICAL",
            ["08047091234"],
            ["02241499102", "01139585476"],
            ["01139585476", "02241499102", "08047091234"],
        ),
        ("WARNING", ["08047091234"], ["01139585476"], ["01139585476", "08047091234"]),
    ]
    _, warning = beats[2]
    assert list(warning) == [
        "timestamp",
        "status_type",
        "incoming_affected",
        "outgoing_affected",
        "data",
    ]
    assert warning["data"] == {"02241499102": {"phone_number": "+912241499102"}}
    assert warning["timestamp"].endswith("Z")
    assert "T" in warning["timestamp"]


async def test_heartbeat_retries_the_same_payload(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    recorder.answers[:] = [500, 200]
    sim = make_sim(heartbeat={"url": HEARTBEAT, "interval": 600})
    await nursery.start(sim.run)
    await trio.sleep_until(sim.start + 10)
    (first, t1), (second, t2) = [(b, t - sim.start) for t, b in _beats(recorder)]
    assert (t1, t2) == (0, 5)
    assert first == second
    stats = sim.stats().delivery
    assert (stats.heartbeats_sent, stats.heartbeats_delivered) == (2, 1)


async def test_trigger_and_payload_too_large(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    sim = make_sim(heartbeat={"url": HEARTBEAT, "interval": 600, "payload_too_large": True})
    await nursery.start(sim.run)
    await trio.sleep_until(sim.start + 42)
    sim.trigger_heartbeat()
    await trio.sleep_until(sim.start + 43)
    beats = _beats(recorder)
    assert [t - sim.start for t, _ in beats] == [0, 42]
    assert beats[1][1] == {
        "timestamp": beats[1][1]["timestamp"],
        "status_type": "PAYLOAD_TOO_LARGE",
        "incoming_affected": None,
        "outgoing_affected": None,
        "data": {},
    }


async def test_alternates_can_be_changed(sim: Simulator, api: httpx.AsyncClient) -> None:
    sim.set_exophone_health("01139585476", outgoing="major_outage", alternates=("02241499102",))
    data = (await api.get(f"{V2}/01139585476")).json()["response"][0]["data"]
    outgoing = data["connectivity"]["outgoing_call"]
    assert (outgoing["status"], outgoing["alternate_exophone"]) == (
        "major_outage",
        ["+912241499102"],
    )
    with pytest.raises(KeyError):
        sim.set_exophone_health("01139585476", alternates=("nope",))
