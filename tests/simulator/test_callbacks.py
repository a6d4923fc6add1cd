"""Status callbacks: fields, encodings, events, timing, retries, and delivery faults."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import trio

from campaigner.simulator import Simulator
from campaigner.simulator.callbacks import V1_BASIC_FIELDS, V1_TERMINAL_FIELDS
from tests.simulator.conftest import (
    V1,
    V3,
    Recorder,
    SimFactory,
    api_client,
    connect_form,
    v3_body,
)

HOOK = "http://hooks.test/exotel?token=s3cr3t&x=1"


async def _v1(api: httpx.AsyncClient, **extra: str) -> str:
    response = await api.post(f"{V1}/Calls/connect.json", data=connect_form(**extra))
    assert response.status_code == 200
    return str(response.json()["Call"]["Sid"])


def test_documented_v1_callback_field_lists() -> None:
    # 003 page: the four always sent, then the ones added by the terminal event.
    assert V1_BASIC_FIELDS == ("CallSid", "Status", "RecordingUrl", "DateUpdated")
    assert set(V1_TERMINAL_FIELDS) == {
        *V1_BASIC_FIELDS,
        "EventType",
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
    }


async def test_v1_default_is_the_basic_four_as_multipart(
    running: Simulator, recorder: Recorder, autojump_clock: object
) -> None:
    async with api_client(running) as api:
        sid = await _v1(api, StatusCallback=HOOK, Record="false")  # absent Record records
        await trio.sleep_until(running.start + 100)
    (got,) = recorder.got
    assert (got.time, got.method, got.url) == (running.start + 71, "POST", HOOK)
    assert got.content_type.startswith("multipart/form-data; boundary=")
    form = got.form()
    assert list(form) == list(V1_BASIC_FIELDS)
    assert form == {
        "CallSid": sid,
        "Status": "completed",
        "RecordingUrl": "",
        "DateUpdated": form["DateUpdated"],
    }


async def test_v1_terminal_event_as_form(
    running: Simulator, recorder: Recorder, autojump_clock: object
) -> None:
    async with api_client(running) as api:
        sid = await _v1(
            api,
            StatusCallback=HOOK,
            CustomField="order-42",
            Record="true",
            **{"StatusCallbackEvents[0]": "terminal"},
        )
        await trio.sleep_until(running.start + 100)
    (got,) = recorder.got
    form = got.form()
    assert form == {
        "CallSid": sid,
        "EventType": "terminal",
        "DateCreated": form["DateCreated"],
        "DateUpdated": form["EndTime"],
        "Status": "completed",
        "To": "+919811111111",  # as set in the API request
        "From": "+919800000001",
        "PhoneNumberSid": "02241499102",
        "StartTime": form["DateCreated"],
        "EndTime": form["EndTime"],
        "ConversationDuration": "60",
        "Direction": "outbound-api",
        "CustomField": "order-42",
        "RecordingUrl": f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/sandbox/{sid}.mp3",
        "Legs[0][OnCallDuration]": "65",
        "Legs[0][Status]": "completed",
        "Legs[1][OnCallDuration]": "60",
        "Legs[1][Status]": "completed",
    }


async def test_v1_json_answered_then_terminal(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    sim = make_sim(numbers={"+919811111111": {"outcome": "no_answer"}})
    await nursery.start(sim.run)
    async with api_client(sim) as api:
        sid = await _v1(
            api,
            StatusCallback=HOOK,
            StatusCallbackContentType="application/json",
            **{"StatusCallbackEvents[0]": "terminal", "StatusCallbackEvents[1]": "answered"},
        )
        await trio.sleep_until(sim.start + 100)
    bodies = [json.loads(got.body) for got in recorder.got]
    assert [got.time - sim.start for got in recorder.got] == [6, 36]
    assert {got.content_type for got in recorder.got} == {"application/json"}
    answered, terminal = bodies
    assert (answered["EventType"], answered["Status"], answered["Legs"]) == (
        "answered",
        "in-progress",
        [{"OnCallDuration": 0, "Status": "in-progress"}, {"OnCallDuration": 0, "Status": ""}],
    )
    assert "CustomField" not in answered
    assert answered["CallSid"] == terminal["CallSid"] == sid
    assert (terminal["Status"], terminal["ConversationDuration"], terminal["Legs"]) == (
        "no-answer",
        0,
        [
            {"OnCallDuration": 30, "Status": "completed"},
            {"OnCallDuration": 0, "Status": "no-answer"},
        ],
    )
    assert terminal["RecordingUrl"] == ""


async def test_v1_answered_for_each_leg(
    running: Simulator, recorder: Recorder, autojump_clock: object
) -> None:
    async with api_client(running) as api:
        await _v1(api, StatusCallback=HOOK, **{"StatusCallbackEvents[]": "answered"})
        await trio.sleep_until(running.start + 100)
    forms = [got.form() for got in recorder.got]
    assert [got.time - running.start for got in recorder.got] == [6, 11, 71]
    assert [(f.get("EventType"), f.get("Legs[1][Status]")) for f in forms] == [
        ("answered", ""),
        ("answered", "in-progress"),
        (None, None),  # no terminal subscription: the basic four
    ]


async def _v3(api: httpx.AsyncClient, callbacks: list[dict[str, Any]]) -> str:
    response = await api.post(f"{V3}/calls", json=v3_body(status_callback=callbacks))
    assert response.status_code == 200
    return str(response.json()["response"]["call_details"]["sid"])


async def test_v3_json_form_and_get(
    running: Simulator, recorder: Recorder, autojump_clock: object
) -> None:
    callbacks = [
        {"event": "answered", "url": "http://hooks.test/a"},
        {
            "event": "terminal",
            "url": "http://hooks.test/t?k=1",
            "content_type": "multipart/form-data",
        },
        {"event": "terminal", "url": "http://hooks.test/g?k=2", "method": "GET"},
    ]
    async with api_client(running) as api:
        sid = await _v3(api, callbacks)
        await trio.sleep_until(running.start + 100)
    got = recorder.got
    assert [(g.time - running.start, g.method, g.url.split("?")[0]) for g in got] == [
        (6, "POST", "http://hooks.test/a"),
        (11, "POST", "http://hooks.test/a"),
        (71, "POST", "http://hooks.test/t"),
        (71, "GET", "http://hooks.test/g"),
    ]
    answered = json.loads(got[0].body)
    assert list(answered) == ["event_details", "call_details"]
    assert answered["event_details"] == {"event_type": "answered"}
    assert (answered["call_details"]["state"], answered["call_details"]["status"]) == (
        "active",
        None,
    )
    form = got[2].form()
    assert got[2].url == "http://hooks.test/t?k=1"
    assert form["event_details[event_type]"] == "terminal"
    assert (form["call_details[sid]"], form["call_details[status]"]) == (sid, "completed")
    assert form["call_details[virtual_number]"] == "+912241499102"
    query = dict(parse_qsl(urlsplit(got[3].url).query, keep_blank_values=True))
    assert query["k"] == "2"
    assert query["event_details[event_type]"] == "terminal"
    assert query["call_details[state]"] == "terminal"
    assert query["call_details[total_talk_time]"] == "60"
    assert got[3].body == b""


async def test_v3_recordings_flatten_with_brackets(
    running: Simulator, recorder: Recorder, autojump_clock: object
) -> None:
    callbacks = [
        {"event": "terminal", "url": "http://hooks.test/t", "content_type": "multipart/form-data"}
    ]
    async with api_client(running) as api:
        body = v3_body(status_callback=callbacks, recording={"record": "true"})
        sid = (await api.post(f"{V3}/calls", json=body)).json()["response"]["call_details"]["sid"]
        await trio.sleep_until(running.start + 100)
    form = recorder.got[0].form()
    assert form["call_details[recordings][0][url]"].endswith(f"/{sid}.mp3")


async def test_retries_with_doubling_backoff(
    running: Simulator, recorder: Recorder, autojump_clock: object
) -> None:
    recorder.answers[:] = [500, 503, 200]
    async with api_client(running) as api:
        await _v1(api, StatusCallback=HOOK)
        await trio.sleep_until(running.start + 200)
    assert [got.time - running.start for got in recorder.got] == [71, 76, 86]
    stats = running.stats().delivery
    assert (stats.attempts, stats.retried, stats.delivered, stats.gave_up) == (3, 2, 1, 0)


async def test_gives_up_after_the_last_retry(
    running: Simulator, recorder: Recorder, autojump_clock: object
) -> None:
    recorder.answers[:] = [500] * 10
    async with api_client(running) as api:
        await _v1(api, StatusCallback=HOOK)
        await trio.sleep_until(running.start + 500)
    assert [got.time - running.start for got in recorder.got] == [71, 76, 86, 106]
    assert running.stats().delivery.gave_up == 1


async def test_drop_duplicate_delay_faults(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    sim = make_sim(faults={"callback_drop": 1.0})
    await nursery.start(sim.run)
    async with api_client(sim) as api:
        await _v1(api, StatusCallback=HOOK)  # ends at 71, dropped
        await trio.sleep_until(sim.start + 100)
        sim.set_faults(callback_drop=0.0, callback_duplicate=1.0)
        await _v1(api, StatusCallback=HOOK)  # ends at 171, sent twice
        await trio.sleep_until(sim.start + 200)
        sim.set_faults(callback_duplicate=0.0, callback_delay=1.0, callback_delay_range=(30, 30))
        await _v1(api, StatusCallback=HOOK)  # ends at 271, sent 30 s late
        await trio.sleep_until(sim.start + 400)
    sids = [info.sid for info in sim.calls()]
    delivered = [(got.form()["CallSid"], got.time - sim.start) for got in recorder.got]
    assert [sid for sid, _ in delivered] == [sids[1], sids[1], sids[2]]
    assert delivered[0][1] == 171
    assert 172 <= delivered[1][1] <= 181
    assert delivered[2][1] == 301
    stats = sim.stats().delivery
    assert (stats.dropped, stats.duplicated, stats.delayed) == (1, 1, 1)


async def test_reorder_sends_a_stale_answered_after_terminal(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    sim = make_sim(faults={"callback_reorder": 1.0})
    await nursery.start(sim.run)
    async with api_client(sim) as api:
        await _v1(
            api,
            StatusCallback=HOOK,
            **{"StatusCallbackEvents[0]": "terminal", "StatusCallbackEvents[1]": "answered"},
        )
        await trio.sleep_until(sim.start + 300)
    order = [(got.form()["EventType"], got.time - sim.start) for got in recorder.got]
    assert order == [("terminal", 71), ("answered", 72), ("answered", 72)]


async def test_early_callbacks_arrive_before_the_connect_answer(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    sim = make_sim(faults={"early_callback": 1.0})
    await nursery.start(sim.run)
    async with api_client(sim) as api:
        form = connect_form(StatusCallback=HOOK, **{"StatusCallbackEvents[0]": "terminal"})
        response = await api.post(f"{V1}/Calls/connect.json", data=form)
        answered_at = trio.current_time()
    sid = response.json()["Call"]["Sid"]
    (got,) = recorder.got
    assert got.form()["CallSid"] == sid
    assert got.time <= answered_at
    assert response.json()["Call"]["Status"] == "in-progress"
    assert sim.stats().delivery.early == 1


async def test_v3_early_callbacks(
    make_sim: SimFactory, recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    sim = make_sim(faults={"early_callback": 1.0})
    await nursery.start(sim.run)
    async with api_client(sim) as api:
        sid = await _v3(api, [{"event": "terminal", "url": "http://hooks.test/t"}])
    (got,) = recorder.got
    assert json.loads(got.body)["call_details"]["sid"] == sid
    assert sim.call(sid).ended_at <= trio.current_time()


async def test_set_number_changes_later_calls(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    await _v1(api)
    sim.set_number("+919811111111", dnd=True)
    refused = await api.post(f"{V1}/Calls/connect.json", data=connect_form())
    assert refused.status_code == 403
    sim.set_number("+919811111111", dnd=False, outcome="failed")
    await trio.sleep(100)
    sid = await _v1(api)
    assert sim.call(sid).kind == "failed"
