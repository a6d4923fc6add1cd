"""The hypercorn-served simulator over real loopback sockets (real clock, short timeouts)."""

from __future__ import annotations

import io
from base64 import b64encode
from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from campaigner.commands import sim as sim_command
from campaigner.simulator import Scenario, Simulator, serve_http
from tests.simulator.conftest import AUTH, V1, V3, connect_form, make_scenario, v3_body

TIMEOUT = httpx.Timeout(3.0)


async def _start(nursery: trio.Nursery, scenario: Scenario) -> tuple[Simulator, str]:
    sim = Simulator(scenario)
    await nursery.start(sim.run)
    binds = await nursery.start(partial(serve_http, sim, "127.0.0.1", 0))
    return sim, binds[0]


@pytest.fixture
async def served(nursery: trio.Nursery) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    sim, url = await _start(nursery, make_scenario())
    async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=TIMEOUT) as client:
        yield sim, client


async def test_every_api_version_over_http(served: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = served
    v1 = await client.post(f"{V1}/Calls/connect.json", data=connect_form())
    xml = await client.get(f"{V1}/Calls/{v1.json()['Call']['Sid']}")
    v3 = await client.post(f"{V3}/calls", json=v3_body(to={"contact_uri": "+919822222222"}))
    v2 = await client.get("/v2/accounts/sandbox/incoming-phone-numbers/02241499102")
    missing = await client.get(f"{V1}/Calls/nope.json")
    assert [r.status_code for r in (v1, xml, v3, v2, missing)] == [200, 200, 200, 200, 404]
    assert xml.headers["content-type"] == "application/xml"
    assert "<Status>" in xml.text
    assert v3.json()["response"]["call_details"]["virtual_number"] == "02241499102"
    assert missing.json() == {"RestException": {"Status": 404, "Message": "No matching results"}}
    assert len(sim.calls()) == 2


async def test_unauthenticated_over_http(served: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = served
    response = await client.get(f"{V1}/Calls/x.json", auth=("sandbox-key", "nope"))
    assert response.status_code == 401


async def test_a_lost_answer_breaks_the_connection(nursery: trio.Nursery) -> None:
    scenario = make_scenario(faults={"connect_ambiguous": 1.0, "ambiguous_hold": 0.05})
    sim, url = await _start(nursery, scenario)
    async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=TIMEOUT) as client:
        with pytest.raises(httpx.TransportError):
            await client.post(f"{V1}/Calls/connect.json", data=connect_form())
    (info,) = sim.calls()
    assert info.answer_lost


async def test_a_half_sent_request_is_not_acted_on(nursery: trio.Nursery) -> None:
    """A client killed mid-body (kill -9 of the engine) asked nothing: no call, no 400."""
    sim, url = await _start(nursery, make_scenario())
    parts = httpx.URL(url)
    assert parts.port is not None
    stream = await trio.open_tcp_stream(parts.host, parts.port)
    form = urlencode(connect_form())
    head = (
        f"POST {V1}/Calls/connect.json HTTP/1.1\r\nHost: {parts.host}\r\n"
        f"Authorization: Basic {b64encode(':'.join(AUTH).encode()).decode()}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    )
    await stream.send_all(head.encode() + form[: len(form) // 2].encode())
    await trio.sleep(0.2)
    await stream.aclose()
    async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=TIMEOUT) as client:
        answer = await client.post(f"{V1}/Calls/connect.json", data=connect_form())
    assert answer.status_code == 200
    assert [r.status for r in sim.requests] == [200]
    assert len(sim.calls()) == 1


async def test_callbacks_reach_a_real_receiver(nursery: trio.Nursery) -> None:
    got: list[tuple[str, bytes]] = []
    arrived = trio.Event()

    async def receiver(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        got.append((scope["path"] + "?" + scope["query_string"].decode(), body))
        arrived.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = config.errorlog = None
    binds = await nursery.start(partial(serve, receiver, config))
    sim, url = await _start(nursery, make_scenario(time_scale=200))  # the call lasts 0.355 s
    form = connect_form(StatusCallback=f"{binds[0]}/hook?token=abc")
    async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=TIMEOUT) as client:
        response = await client.post(f"{V1}/Calls/connect.json", data=form)
    with trio.fail_after(3):
        await arrived.wait()
    ((path, body),) = got
    assert path == "/hook?token=abc"
    assert response.json()["Call"]["Sid"].encode() in body
    assert sim.stats().delivery.attempts == 1


async def test_sim_command_serves_and_prints_the_environment(nursery: trio.Nursery) -> None:
    out = io.StringIO()
    scenario = sim_command.build_scenario(None, 50.0)
    url = await nursery.start(sim_command.serve, scenario, "127.0.0.1", 0, out)
    port = url.rsplit(":", 1)[1]
    assert out.getvalue() == (
        f"campaigner sim: simulated Exotel account 'sandbox' on http://127.0.0.1:{port}"
        " (time scale 50)\n"
        f"  export EXOTEL_BASE_URL=http://127.0.0.1:{port}"
        f" EXOTEL_CCM_BASE_URL=http://127.0.0.1:{port}\n"
        "  export EXOTEL_ACCOUNT_SID=sandbox EXOTEL_API_KEY=sandbox-key"
        " EXOTEL_API_TOKEN=sandbox-token\n"
        "Press Ctrl-C to stop.\n"
    )
    async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=TIMEOUT) as client:
        response = await client.get(f"{V1}/Numbers/+919811111111.json")
    assert response.status_code == 200


def test_custom_credentials_are_not_printed() -> None:
    scenario = Scenario.model_validate(
        {"account": {"sid": "acme", "api_key": "k1", "api_token": "t0p"}}
    )
    text = sim_command.banner(scenario, "http://127.0.0.1:1")
    assert "t0p" not in text
    assert "k1" not in text
    assert "EXOTEL_ACCOUNT_SID=acme (key and token: the scenario's)" in text
