from __future__ import annotations

import json

import httpx
import pytest
import trio

from campaigner.domain import CallObservation
from campaigner.engine.receiver import MAX_BODY, CallbackReceiver, serve_receiver
from campaigner.exotel.models import Heartbeat

TOKEN = "s3cret-run-token"
V1_TERMINAL = {
    "CallSid": "492205107c5fb48f4ac25d1f77759339",
    "EventType": "terminal",
    "Status": "completed",
    "Legs": [{"Status": "completed", "OnCallDuration": 41}, {"Status": "completed"}],
}
HEARTBEAT = {"timestamp": "2026-11-23T10:00:00Z", "status_type": "OK", "data": {}}


@pytest.fixture
def seen() -> list[CallObservation]:
    return []


@pytest.fixture
def beats() -> list[Heartbeat]:
    return []


@pytest.fixture
def client(seen: list[CallObservation], beats: list[Heartbeat]) -> httpx.AsyncClient:
    app = CallbackReceiver(
        TOKEN, seen.append, heartbeat_token="hb-secret", on_heartbeat=beats.append
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver")


async def test_v1_callback_is_accepted(
    client: httpx.AsyncClient, seen: list[CallObservation]
) -> None:
    answer = await client.post(f"/exotel/{TOKEN}/v1", json=V1_TERMINAL)
    assert (answer.status_code, answer.text) == (200, "OK")
    assert [o.sid for o in seen] == [V1_TERMINAL["CallSid"]]
    assert seen[0].terminal


async def test_prefix_is_ignored_and_form_bodies_work(
    client: httpx.AsyncClient, seen: list[CallObservation]
) -> None:
    form = {
        "CallSid": "abc123",
        "Status": "busy",
        "EventType": "terminal",
        "Legs[0][Status]": "completed",
        "Legs[1][Status]": "busy",
    }
    answer = await client.post(f"/{TOKEN}/v1", data=form)
    assert answer.status_code == 200
    assert seen[0].status == "busy"


async def test_v3_get_callback(client: httpx.AsyncClient, seen: list[CallObservation]) -> None:
    params = {
        "event_details[event_type]": "terminal",
        "call_details[sid]": "v3sid",
        "call_details[state]": "terminal",
        "call_details[status]": "completed",
    }
    answer = await client.get(f"/hooks/{TOKEN}/v3", params=params)
    assert answer.status_code == 200
    assert seen[0].sid == "v3sid"


@pytest.mark.parametrize(
    "path", ["/exotel/wrong-token/v1", f"/exotel/{TOKEN}x/v3", "/heartbeat/nope"]
)
async def test_forged_tokens_are_refused(
    client: httpx.AsyncClient, seen: list[CallObservation], path: str
) -> None:
    answer = await client.post(path, json=V1_TERMINAL)
    assert answer.status_code == 403
    assert seen == []


@pytest.mark.parametrize("path", ["/", "/v1", f"/{TOKEN}/v2"])
async def test_unknown_paths(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.post(path, json={})).status_code in (403, 404)


async def test_oversized_body_is_refused_over_loopback(seen: list[CallObservation]) -> None:
    body = json.dumps({**V1_TERMINAL, "pad": "x" * MAX_BODY})
    app = CallbackReceiver(TOKEN, seen.append)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve_receiver(
                app, "127.0.0.1:0", shutdown=stop, task_status=task_status
            )
        )
        async with httpx.AsyncClient(timeout=5) as http:
            answer = await http.post(
                f"{url}/{TOKEN}/v1", content=body, headers={"content-type": "application/json"}
            )
            # The receiver still serves legitimate callbacks afterwards.
            fine = await http.post(f"{url}/{TOKEN}/v1", json=V1_TERMINAL)
        stop.set()
    assert answer.status_code == 413
    assert fine.status_code == 200
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"Status=completed", "application/x-www-form-urlencoded"),
        (b"[]", "application/json"),
    ],
)
async def test_malformed_bodies_get_400(
    client: httpx.AsyncClient, seen: list[CallObservation], body: bytes, ctype: str
) -> None:
    answer = await client.post(f"/{TOKEN}/v1", content=body, headers={"content-type": ctype})
    assert answer.status_code == 400
    assert seen == []


async def test_heartbeat(client: httpx.AsyncClient, beats: list[Heartbeat]) -> None:
    answer = await client.post("/anything/heartbeat/hb-secret", json=HEARTBEAT)
    assert answer.status_code == 200
    assert beats[0].status_type == "OK"


async def test_served_over_real_loopback(seen: list[CallObservation]) -> None:
    app = CallbackReceiver(TOKEN, seen.append)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve_receiver(
                app, "127.0.0.1:0", shutdown=stop, task_status=task_status
            )
        )
        async with httpx.AsyncClient(timeout=5) as http:
            answer = await http.post(f"{url}/{TOKEN}/v1", json=V1_TERMINAL)
        stop.set()
    assert answer.status_code == 200
    assert len(seen) == 1


@pytest.mark.parametrize("error", [trio.BusyResourceError, trio.BrokenResourceError])
async def test_a_connection_gone_before_the_answer_keeps_the_event_and_warns(
    error: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    """hypercorn may close an idle-timed connection while the answer is being sent."""
    seen: list[CallObservation] = []
    app = CallbackReceiver(TOKEN, seen.append)
    body = json.dumps(V1_TERMINAL).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/cb/{TOKEN}/v1",
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: object) -> None:
        raise error("another task is currently sending data on this SocketStream")

    with caplog.at_level("WARNING", logger="campaigner.receiver"):
        await app(scope, receive, send)
        await app(scope, receive, send)
    assert [o.sid for o in seen] == [V1_TERMINAL["CallSid"]] * 2
    assert app.stats.unanswered == 2
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["a connection closed before its answer (200)"]


@pytest.mark.parametrize("segment", ["%C3%A9", "%F0%9F%98%80", "%00", "%ED%A0%80"])
async def test_any_token_characters_are_a_403(client: httpx.AsyncClient, segment: str) -> None:
    # compare_digest on str refused non-ASCII (a TypeError and a 500 per request)
    for path in (f"/exotel/{segment}/v1", f"/heartbeat/{segment}"):
        answer = await client.post(path, json=V1_TERMINAL)
        assert answer.status_code == 403


async def test_a_failure_while_handling_is_a_counted_500() -> None:
    def broken(obs: CallObservation) -> None:
        raise RuntimeError("the journal went away")

    app = CallbackReceiver(TOKEN, broken)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
        answers = [(await http.post(f"/x/{TOKEN}/v1", json=V1_TERMINAL)).status_code for _ in "ab"]
    assert answers == [500, 500]
    assert (app.stats.failed, app.stats.accepted) == (2, 0)
