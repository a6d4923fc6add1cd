"""Auth, the rolling rate limit, 429 styles and bursts, request faults, routing."""

from __future__ import annotations

import httpx
import pytest
import trio

from campaigner.simulator import AnswerLost, Simulator
from tests.simulator.conftest import V1, V3, SimFactory, api_client, connect_form, v3_body

V2 = "/v2/accounts/sandbox/incoming-phone-numbers/02241499102"


async def test_the_201st_request_in_a_rolling_minute_is_refused(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    statuses = []
    for _ in range(200):
        statuses.append((await api.get(f"{V1}/Calls/x.json")).status_code)
        await trio.sleep(0.1)  # the 200th request goes at 19.9 s
    assert set(statuses) == {404}
    await trio.sleep_until(sim.start + 30)
    refused = await api.get(f"{V1}/Calls/x.json")
    assert refused.status_code == 429
    assert refused.json() == {"RestException": {"Status": 429, "Message": "Too many requests"}}
    assert "retry-after" not in refused.headers
    await trio.sleep_until(sim.start + 59.95)
    assert (await api.get(f"{V1}/Calls/x.json")).status_code == 429
    await trio.sleep_until(sim.start + 60.0)  # the first request leaves the window
    assert (await api.get(f"{V1}/Calls/x.json")).status_code == 404
    assert (await api.get(f"{V1}/Calls/x.json")).status_code == 429
    await trio.sleep_until(sim.start + 60.1)
    assert (await api.get(f"{V1}/Calls/x.json")).status_code == 404
    counters = sim.stats().counters
    assert counters[("GET", "v1.call", 429)] == 3


async def test_v1_v2_and_v3_share_the_budget(make_sim: SimFactory, autojump_clock: object) -> None:
    sim = make_sim(rate_limit={"requests": 3})
    async with api_client(sim) as api:
        assert (await api.get(f"{V1}/Calls/x.json")).status_code == 404
        assert (await api.get(f"{V3}/calls/x")).status_code == 404
        assert (await api.get(V2)).status_code == 200
        v3 = await api.post(f"{V3}/calls", json=v3_body())
        xml = await api.get(f"{V1}/Calls/x")
    assert v3.status_code == 429
    error = v3.json()["response"]["error_data"]
    assert error == {
        "code": 10724,
        "description": "Too many requests",
        "message": "Too many requests",
    }
    assert xml.status_code == 429
    assert "<RestException><Status>429</Status>" in xml.text


async def test_exophone_details_have_their_own_small_budget(
    make_sim: SimFactory, autojump_clock: object
) -> None:
    sim = make_sim(rate_limit={"exophone_details": 2})
    async with api_client(sim) as api:
        codes = [(await api.get(V2)).status_code for _ in range(3)]
        other = await api.get(f"{V1}/Calls/x.json")
        throttled = await api.get(V2)
    assert codes == [200, 200, 429]
    assert other.status_code == 404
    body = throttled.json()
    assert (body["http_code"], body["response"][0]["error_data"]["code"]) == (429, 10724)


async def test_plain_text_429_and_bursts(make_sim: SimFactory, autojump_clock: object) -> None:
    sim = make_sim(faults={"plain_429": 1.0, "bursts": [{"at": 10, "duration": 5}]})
    async with api_client(sim) as api:
        before = await api.get(f"{V1}/Calls/x.json")
        await trio.sleep_until(sim.start + 10)
        during = await api.get(f"{V1}/Calls/x.json")
        await trio.sleep_until(sim.start + 14.9)
        late = await api.get(f"{V1}/Calls/x.json")
        await trio.sleep_until(sim.start + 15)
        after = await api.get(f"{V1}/Calls/x.json")
    assert [r.status_code for r in (before, during, late, after)] == [404, 429, 429, 404]
    assert (during.headers["content-type"], during.text) == ("text/plain", "Too Many Requests")


@pytest.mark.parametrize(
    "auth",
    [None, ("sandbox-key", "wrong"), ("wrong", "sandbox-token")],
)
async def test_bad_credentials_are_401_in_each_style(
    sim: Simulator, auth: tuple[str, str] | None
) -> None:
    async with api_client(sim, auth=auth) as api:
        v1 = await api.post(f"{V1}/Calls/connect.json", data=connect_form())
        v1_xml = await api.get(f"{V1}/Calls/x")
        v3 = await api.get(f"{V3}/calls/x")
    assert v1.status_code == 401
    assert v1.json() == {"RestException": {"Status": 401, "Message": "Authentication failed"}}
    assert "<Status>401</Status><Message>Authentication failed</Message>" in v1_xml.text
    assert v3.status_code == 401
    assert v3.json()["response"]["error_data"]["code"] == 1010
    assert sim.calls() == []
    assert "sandbox-token" not in v1.text + v1_xml.text + v3.text


async def test_credentials_in_the_url_work(sim: Simulator) -> None:
    async with httpx.AsyncClient(transport=sim.transport()) as api:
        response = await api.get(f"http://sandbox-key:sandbox-token@sim{V1}/Calls/x.json")
    assert response.status_code == 404


async def test_wrong_account_sid(sim: Simulator, api: httpx.AsyncClient) -> None:
    v1 = await api.get("/v1/Accounts/other/Calls/x.json")
    v3 = await api.get("/v3/accounts/other/calls/x")
    assert v1.status_code == 401
    assert (v3.status_code, v3.json()["response"]["error_data"]["code"]) == (404, 1017)


async def test_plain_text_401(make_sim: SimFactory) -> None:
    sim = make_sim(faults={"plain_401": 1.0})
    async with api_client(sim, auth=None) as api:
        response = await api.get(f"{V1}/Calls/x.json")
    assert (response.status_code, response.text) == (401, "Unauthorized")


async def test_unknown_paths_and_methods(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/Accounts/sandbox/Nothing.json")).status_code == 404
    assert (await api.delete(f"{V1}/Calls/x.json")).status_code == 405
    assert (await api.get("/favicon.ico")).status_code == 404


async def test_ambiguous_connect_creates_the_call_and_loses_the_answer(
    make_sim: SimFactory, autojump_clock: object
) -> None:
    sim = make_sim(faults={"connect_ambiguous": 1.0})
    async with api_client(sim) as api:
        with pytest.raises(httpx.ReadTimeout) as caught:
            await api.post(f"{V1}/Calls/connect.json", data=connect_form(), timeout=7.0)
    assert isinstance(caught.value, AnswerLost)
    assert trio.current_time() == sim.start + 7.0  # lost after the client's read timeout
    (info,) = sim.calls()
    assert (info.answer_lost, info.created_on_5xx) == (True, False)
    assert sim.stats().counters[("POST", "v1.connect", 0)] == 1


@pytest.mark.parametrize(("created", "count"), [(1.0, 1), (0.0, 0)])
async def test_connect_5xx_with_or_without_the_call(
    make_sim: SimFactory, created: float, count: int
) -> None:
    sim = make_sim(faults={"connect_5xx": 1.0, "connect_5xx_created": created})
    async with api_client(sim) as api:
        response = await api.post(f"{V3}/calls", json=v3_body())
    assert response.status_code in (500, 502, 503)
    assert len(sim.calls()) == count
    assert all(info.created_on_5xx for info in sim.calls())


async def test_random_5xx_on_gets_only(make_sim: SimFactory) -> None:
    sim = make_sim(faults={"get_5xx": 1.0})
    async with api_client(sim) as api:
        gets = [(await api.get(f"{V1}/Calls/x.json")).status_code for _ in range(20)]
        post = await api.post(f"{V1}/Calls/connect.json", data=connect_form())
    assert set(gets) <= {500, 502, 503}
    assert 500 in gets
    assert post.status_code == 200


async def test_time_scale_speeds_calls_but_not_the_rate_window(
    make_sim: SimFactory, autojump_clock: object
) -> None:
    sim = make_sim(time_scale=10, rate_limit={"requests": 2})
    async with api_client(sim) as api:
        first = await api.post(f"{V1}/Calls/connect.json", data=connect_form())
        await api.get(f"{V1}/Calls/x.json")
        await trio.sleep_until(sim.start + 59.9)
        refused = await api.get(f"{V1}/Calls/x.json")
        await trio.sleep_until(sim.start + 60)
        admitted = await api.get(f"{V1}/Calls/x.json")
    info = sim.call(first.json()["Call"]["Sid"])
    assert info.ended_at == sim.start + 7.1  # 71 simulated seconds at 10x
    assert (refused.status_code, admitted.status_code) == (429, 404)
