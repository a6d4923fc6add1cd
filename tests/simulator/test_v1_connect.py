"""v1 Calls/connect: the answer's fields, XML, validation, DND, flows."""

from __future__ import annotations

import httpx
import pytest

from campaigner.simulator import Simulator
from campaigner.simulator.v1_wire import CALL_FIELDS
from tests.simulator.conftest import (
    AGENT,
    CUSTOMER,
    V1,
    SimFactory,
    api_client,
    connect_form,
    make_scenario,
)

# 003 page, "HTTP Response" example, in order.
DOCUMENTED_CALL_FIELDS = [
    "Sid",
    "ParentCallSid",
    "DateCreated",
    "DateUpdated",
    "AccountSid",
    "To",
    "From",
    "PhoneNumberSid",
    "Status",
    "StartTime",
    "EndTime",
    "Duration",
    "Price",
    "Direction",
    "AnsweredBy",
    "ForwardedFrom",
    "CallerName",
    "Uri",
    "RecordingUrl",
]


def test_call_field_list_matches_the_page() -> None:
    assert list(CALL_FIELDS) == DOCUMENTED_CALL_FIELDS


async def test_connect_answers_the_documented_call(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    response = await api.post(f"{V1}/Calls/connect.json", data=connect_form())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    call = response.json()["Call"]
    assert list(call) == DOCUMENTED_CALL_FIELDS
    created = call["DateCreated"]
    assert call == {
        "Sid": call["Sid"],
        "ParentCallSid": None,
        "DateCreated": created,
        "DateUpdated": created,
        "AccountSid": "sandbox",
        "To": "09811111111",  # echoed in 0-prefixed national form although E.164 was sent
        "From": "09800000001",
        "PhoneNumberSid": "02241499102",  # the ExoPhone number itself
        "Status": "in-progress",
        "StartTime": created,
        "EndTime": None,
        "Duration": None,
        "Price": None,
        "Direction": "outbound-api",
        "AnsweredBy": None,
        "ForwardedFrom": None,
        "CallerName": None,
        "Uri": call["Uri"],
        "RecordingUrl": None,
    }
    assert len(call["Sid"]) == 32
    assert call["Sid"].isalnum()
    assert call["Sid"].islower()
    assert call["Uri"] in {
        f"{V1}/Calls/{call['Sid']}",
        f"{V1}/Calls/{call['Sid']}.json",
        f"{V1}/Calls.json/{call['Sid']}",
    }
    assert [info.sid for info in sim.calls()] == [call["Sid"]]


async def test_connect_without_json_suffix_answers_xml(
    api: httpx.AsyncClient, autojump_clock: object
) -> None:
    response = await api.post(f"{V1}/Calls/connect", data=connect_form())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    text = response.text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<TwilioResponse><Call><Sid>')
    assert "<ParentCallSid/>" in text
    assert "<EndTime/>" in text
    assert "<RecordingUrl/>" in text
    assert "<Status>in-progress</Status>" in text
    assert "<PhoneNumberSid>02241499102</PhoneNumberSid>" in text


def _bad(name: str, value: str, allowed: str) -> tuple[dict[str, str], str]:
    return {name: value}, f"Invalid value for {name}: {value!r}; valid values are {allowed}"


FLOW = "http://my.exotel.com/sandbox/exoml/start_voice/1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"From": ""}, "Missing mandatory parameter: From"),
        ({"CallerId": ""}, "Missing mandatory parameter: CallerId"),
        ({"To": ""}, "Exactly one of To and Url must be given"),
        ({"Url": FLOW}, "Exactly one of To and Url must be given"),
        ({"TimeLimit": "14401"}, "TimeLimit must be an integer between 1 and 14400"),
        ({"TimeLimit": "abc"}, "TimeLimit must be an integer between 1 and 14400"),
        ({"TimeOut": "0"}, "TimeOut must be an integer greater than 0"),
        _bad("Record", "yes", "true, false"),
        _bad("RecordingChannels", "stereo", "single, dual"),
        _bad("RecordingFormat", "wav", "mp3, mp3-hq"),
        _bad("StreamBegin", "Leg3Connect", "Leg1Connect, Leg2Connect"),
        _bad("StartPlaybackTo", "Agent", "Callee, Both"),
        _bad("StatusCallbackContentType", "text/xml", "multipart/form-data, application/json"),
        (
            {"StatusCallbackEvents[0]": "ringing"},
            "Invalid value for StatusCallbackEvents: 'ringing'",
        ),
        ({"CustomField": "x" * 129}, "CustomField must be at most 128 characters"),
        (
            {"CallerId": "+911111111111"},
            "CallerId +911111111111 is not an ExoPhone of this account",
        ),
        ({"To": "12345"}, "Invalid phone number in To: '12345'"),
    ],
)
async def test_connect_validation_errors(
    sim: Simulator, api: httpx.AsyncClient, change: dict[str, str], message: str
) -> None:
    form = {k: v for k, v in connect_form(**change).items() if v != ""}
    response = await api.post(f"{V1}/Calls/connect.json", data=form)
    assert response.status_code == 400
    assert response.json() == {"RestException": {"Status": 400, "Message": message}}
    assert sim.calls() == []


async def test_dnd_number_is_refused_with_403_ndnc(make_sim: SimFactory) -> None:
    sim = make_sim(numbers={CUSTOMER: {"dnd": True}})
    async with api_client(sim) as api:
        as_json = await api.post(f"{V1}/Calls/connect.json", data=connect_form())
        as_xml = await api.post(f"{V1}/Calls/connect", data=connect_form())
    message = "Call to [09811111111] cannot be made because of TRAI NDNC regulations"
    assert as_json.status_code == 403
    assert as_json.json() == {"RestException": {"Status": 403, "Message": message}}
    assert as_xml.status_code == 403
    assert as_xml.text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TwilioResponse><RestException>'
        f"<Status>403</Status><Message>{message}</Message></RestException></TwilioResponse>\n"
    )
    assert sim.calls() == []


async def test_dnd_fraction_marks_numbers_stably(make_sim: SimFactory) -> None:
    sim = make_sim(scenario=make_scenario(dnd_fraction=1.0))
    async with api_client(sim) as api:
        response = await api.post(f"{V1}/Calls/connect.json", data=connect_form())
        meta = await api.get(f"{V1}/Numbers/{CUSTOMER}.json")
    assert response.status_code == 403
    assert meta.json()["Numbers"]["DND"] == "Yes"


@pytest.mark.parametrize("key", ["StatusCallbackEvents[0]", "StatusCallbackEvents[]"])
async def test_both_event_key_forms_are_accepted(
    sim: Simulator, api: httpx.AsyncClient, key: str
) -> None:
    form = connect_form(StatusCallback="http://cb/x")
    form[key] = "terminal"
    response = await api.post(f"{V1}/Calls/connect.json", data=form)
    assert response.status_code == 200
    call = sim.book.by_sid[response.json()["Call"]["Sid"]]
    assert call.opts is not None
    assert call.opts.events == ("terminal",)


async def test_call_to_a_flow(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    form = connect_form(Url="http://my.exotel.com/sandbox/exoml/start_voice/926")
    del form["To"]
    response = await api.post(f"{V1}/Calls/connect.json", data=form)
    assert response.status_code == 200
    call = response.json()["Call"]
    assert call["To"] == "02241499102"
    assert call["From"] == "09800000001"
    info = sim.calls()[0]
    assert (info.to_number, info.kind, info.status) == (None, "completed", "completed")
    assert sim.book.by_sid[call["Sid"]].opts.app_id == "926"  # type: ignore[union-attr]


async def test_numbers_in_any_indian_format_are_accepted(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    form = connect_form(From="098000 00001", To="9811111111", CallerId="022-41499102")
    response = await api.post(f"{V1}/Calls/connect.json", data=form)
    assert response.status_code == 200
    info = sim.calls()[0]
    assert (info.from_number, info.to_number, info.caller_id) == (AGENT, CUSTOMER, "+912241499102")
