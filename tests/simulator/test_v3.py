"""v3 calls: create, details over time, legs, and the 002 error-code table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from campaigner.simulator import Simulator
from campaigner.simulator.v3_wire import CALL_DETAILS_FIELDS
from tests.simulator.conftest import (
    AGENT,
    CUSTOMER,
    V3,
    SimFactory,
    api_client,
    make_scenario,
    v3_body,
)

# 002 page, "Description of parameters under 'call_details' block", in order.
DOCUMENTED_DETAILS = [
    "sid",
    "direction",
    "virtual_number",
    "state",
    "status",
    "legs",
    "created_time",
    "updated_time",
    "start_time",
    "end_time",
    "total_duration",
    "total_talk_time",
    "custom_field",
    "app_id",
    "app_name",
    "digits",
    "recordings",
]
ENVELOPE = ["request_id", "method", "http_code", "metadata", "response"]


def test_details_field_list_matches_the_page() -> None:
    assert list(CALL_DETAILS_FIELDS) == DOCUMENTED_DETAILS


async def _create(api: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    return await api.post(f"{V3}/calls", json=v3_body(**extra))


async def test_create_answers_the_documented_envelope(
    api: httpx.AsyncClient, autojump_clock: object
) -> None:
    response = await _create(api, custom_field="order-7")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ENVELOPE
    details = body["response"]["call_details"]
    sid = details["sid"]
    created = details["created_time"]
    assert body == {
        "request_id": body["request_id"],
        "method": "POST",
        "http_code": 200,
        "metadata": None,
        "response": {
            "code": 200,
            "error_data": None,
            "status": "success",
            "call_details": {
                "sid": sid,
                "direction": "outbound",  # the pages' example, not "outbound-api"
                "virtual_number": "02241499102",  # local format in the POST answer
                "state": "active",
                "status": None,
                "legs": f"{V3}/calls/{sid}/legs",
                "created_time": created,
                "updated_time": created,
                "start_time": details["start_time"],
                "end_time": None,
                "total_duration": None,
                "total_talk_time": None,
                "custom_field": "order-7",
                "app_id": None,
                "app_name": None,
                "digits": None,
                "recordings": None,
            },
        },
    }
    assert created.endswith("+05:30")
    assert len(body["request_id"]) == 32


async def test_details_over_time(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    sid = (await _create(api, recording={"record": True})).json()["response"]["call_details"]["sid"]
    seen = []
    for t in (5, 70, 100, 191):
        await trio.sleep_until(sim.start + t)
        response = await api.get(f"{V3}/calls/{sid}")
        details = response.json()["response"]["call_details"]
        seen.append(
            (
                details["state"],
                details["status"],
                details["end_time"],
                details["total_talk_time"],
                details["virtual_number"],
            )
        )
    end = seen[-1][2]
    assert seen == [
        ("active", None, "1970-01-01 05:30:00+05:30", None, "+912241499102"),
        ("active", None, "1970-01-01 05:30:00+05:30", None, "+912241499102"),
        ("active", None, "1970-01-01 05:30:00+05:30", None, "+912241499102"),
        ("terminal", "completed", end, 60, "+912241499102"),
    ]
    final = response.json()["response"]["call_details"]
    assert final["total_duration"] in (None, 70)
    assert final["recordings"] == [
        {"url": f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/sandbox/{sid}.mp3"}
    ]


@pytest.mark.parametrize(
    ("numbers", "status"),
    [
        ({CUSTOMER: {"outcome": "busy"}}, "to_leg_unanswered"),
        ({AGENT: {"outcome": "no_answer"}}, "from_leg_unanswered"),
        ({AGENT: {"outcome": "agent_hangup"}}, "from_leg_cancelled"),
        ({CUSTOMER: {"dnd": True}}, "to_leg_no_dial"),
        ({}, "completed"),
    ],
)
async def test_terminal_statuses(
    make_sim: SimFactory, autojump_clock: object, numbers: dict[str, Any], status: str
) -> None:
    sim = make_sim(numbers=numbers)
    async with api_client(sim) as api:
        sid = (await _create(api)).json()["response"]["call_details"]["sid"]
        await trio.sleep_until(sim.start + 400)
        details = (await api.get(f"{V3}/calls/{sid}")).json()["response"]["call_details"]
    assert (details["state"], details["status"]) == ("terminal", status)


async def test_outgoing_outage_means_from_leg_no_dial(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    sim.set_exophone_health("02241499102", outgoing="major_outage")
    sid = (await _create(api)).json()["response"]["call_details"]["sid"]
    info = sim.call(sid)
    assert (info.v3_status, info.status, info.kind) == (
        "from_leg_no_dial",
        "failed",
        "from_leg_no_dial",
    )
    legs = (await api.get(f"{V3}/calls/{sid}/legs")).json()["response"]["leg_details"]
    assert (legs["from"], legs["to"]) == ([], [])


async def test_legs(sim: Simulator, api: httpx.AsyncClient, autojump_clock: object) -> None:
    sid = (await _create(api)).json()["response"]["call_details"]["sid"]
    await trio.sleep_until(sim.start + 3)
    ringing = (await api.get(f"{V3}/calls/{sid}/legs")).json()["response"]["leg_details"]
    assert [leg["status"] for leg in ringing["from"]] == ["in-progress"]
    assert ringing["to"] == []
    await trio.sleep_until(sim.start + 80)
    body = (await api.get(f"{V3}/calls/{sid}/legs")).json()
    assert list(body) == ENVELOPE
    legs = body["response"]["leg_details"]
    assert list(legs) == ["call_sid", "account_sid", "from", "to"]
    assert (legs["call_sid"], legs["account_sid"]) == (sid, "sandbox")
    (leg1,) = legs["from"]
    (leg2,) = legs["to"]
    assert list(leg1) == ["sid", "name", "contact_uri", "date_created", "date_updated", "status"]
    assert list(leg2) == [*list(leg1), "group_id", "group_name"]
    assert (leg1["contact_uri"], leg1["status"]) == ("09800000001", "completed")
    assert (leg2["contact_uri"], leg2["status"], leg2["group_id"]) == (
        "09811111111",
        "completed",
        None,
    )
    assert leg1["sid"] != leg2["sid"] != sid


async def test_unknown_call_is_404_10744(api: httpx.AsyncClient) -> None:
    for path in (f"{V3}/calls/nope", f"{V3}/calls/nope/legs"):
        response = await api.get(path)
        assert response.status_code == 404
        inner = response.json()["response"]
        assert (inner["code"], inner["status"], inner["error_data"]) == (
            404,
            "failure",
            {"code": 10744, "description": "Call not found", "message": "Call not found"},
        )


def _error(response: httpx.Response) -> tuple[int, int, int, str]:
    body = response.json()
    data = body["response"]["error_data"]
    return response.status_code, body["http_code"], data["code"], data["description"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"from": None}, (400, 1001, "from is mandatory")),
        ({"to": {"contact_uri": ""}}, (400, 1001, "to.contact_uri is mandatory")),
        ({"virtual_number": None}, (400, 1001, "virtual_number is mandatory")),
        (
            {"recording": {"record": True, "channels": "stereo"}},
            (400, 1002, "Valid values for RecordingChannels are single, dual"),
        ),
        (
            {"recording": {"format": "wav"}},
            (400, 1001, "recording.format must be one of mp3, mp3-hq"),
        ),
        ({"max_time_limit": 14401}, (400, 1001, "max_time_limit must be at most 14400")),
        ({"attempt_time_out": 0}, (400, 1001, "attempt_time_out must be a positive integer")),
        (
            {"status_callback": [{"event": "ringing", "url": "http://cb"}]},
            (400, 1001, "status_callback.event must be one of answered, terminal"),
        ),
        (
            {"streaming": {"url": "wss://x", "begin": "later"}},
            (400, 1001, "streaming.begin must be one of from_leg_connect, to_leg_connect"),
        ),
        ({"virtual_number": "+911111111111"}, (404, 10716, "Given virtual_number not found")),
        ({"from": {"contact_uri": "sip:agent@x"}}, (405, 10712, "VOIP calls are not allowed")),
    ],
)
async def test_validation_errors(
    sim: Simulator, api: httpx.AsyncClient, body: dict[str, Any], expected: tuple[int, int, str]
) -> None:
    response = await api.post(f"{V3}/calls", json={**v3_body(), **body})
    http, code, description = expected
    assert _error(response) == (http, http, code, description)
    assert response.json()["response"]["status"] == "failure"
    assert sim.calls() == []


async def test_not_json_is_400_1001(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{V3}/calls", content=b"From=1")
    assert _error(response) == (400, 400, 1001, "the request body is not valid JSON")


async def test_agent_busy_under_state_management(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    managed = {"contact_uri": AGENT, "state_management": "true"}
    first = await _create(api, **{"from": managed})
    assert first.status_code == 200
    second = await _create(api, **{"from": managed, "to": {"contact_uri": "+919822222222"}})
    assert _error(second) == (409, 409, 10706, "User device is currently busy")
    unmanaged = await _create(api, **{"to": {"contact_uri": "+919833333333"}})
    assert unmanaged.status_code == 200  # without state management Exotel dials anyway
    await trio.sleep_until(sim.start + 80)
    third = await _create(api, **{"from": managed, "to": {"contact_uri": "+919844444444"}})
    assert third.status_code == 200


async def test_listed_busy_agent_is_refused_by_default(make_sim: SimFactory) -> None:
    sim = make_sim(scenario=make_scenario(agents={AGENT: {"busy": True}}))
    async with api_client(sim) as api:
        response = await _create(api)
    assert _error(response) == (409, 409, 10706, "User device is currently busy")


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("off", (404, 10703, "Device is currently unavailable (turned off)")),
        ("unavailable", (409, 1012, "User device is unavailable")),
        ("unverified", (409, 10705, "User device is unverified")),
        ("unknown_user", (404, 10731, "User not found")),
        ("no_device", (404, 10806, "No device found for user")),
        ("not_found", (404, 10702, "User Device not found")),
    ],
)
async def test_agent_device_states_refuse_as_the_error_table_says(
    make_sim: SimFactory, device: str, expected: tuple[int, int, str]
) -> None:
    sim = make_sim(scenario=make_scenario(agents={AGENT: {"device": device}}))
    async with api_client(sim) as api:
        refused = await _create(api)
        http, code, description = expected
        assert _error(refused) == (http, http, code, description)
        assert sim.calls() == []
        sim.set_agent_device(AGENT, "ok")  # back on: the same request is a call
        assert (await _create(api)).status_code == 200
        sim.set_agent_device(AGENT, device)
        assert _error(await _create(api, to={"contact_uri": "+919822222222"}))[2] == code
    assert len(sim.calls()) == 1
