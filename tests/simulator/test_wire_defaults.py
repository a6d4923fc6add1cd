"""A field left out of a connect means what Exotel's pages say it means.

v1 (the connect page): ``Record`` defaults to true, so a call without it is recorded;
``TimeLimit`` is capped at 4 h. v3 (the 002 page): ``recording.record`` defaults to false,
``attempt_time_out`` to 30 s and ``max_time_limit`` to 4 h. campaigner sends every one of
these explicitly; the simulator must still read their absence as Exotel would, or no test
could see a request that forgot one.
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from tests.simulator.conftest import (
    CUSTOMER,
    FIXED,
    V1,
    V3,
    SimFactory,
    api_client,
    connect_form,
    v3_body,
)

FOUR_HOURS = 14400


def _timing(**changes: Any) -> dict[str, Any]:
    return {**FIXED.model_dump(), "record_finalize_delay": 0, **changes}


async def _v1(api: httpx.AsyncClient, **fields: str) -> str:
    response = await api.post(f"{V1}/Calls/connect.json", data=connect_form(**fields))
    assert response.status_code == 200, response.text
    return str(response.json()["Call"]["Sid"])


async def _v3(api: httpx.AsyncClient, **extra: Any) -> str:
    response = await api.post(f"{V3}/calls", json=v3_body(**extra))
    assert response.status_code == 200, response.text
    return str(response.json()["response"]["call_details"]["sid"])


async def test_v1_without_record_is_recorded(make_sim: SimFactory, autojump_clock: object) -> None:
    sim = make_sim(timing=_timing())
    async with api_client(sim) as api:
        absent = await _v1(api)
        off = await _v1(api, Record="false", From="+919800000002", To="+919822222222")
        await trio.sleep_until(sim.start + 100)
        calls = {}
        for sid in (absent, off):
            calls[sid] = (await api.get(f"{V1}/Calls/{sid}.json")).json()["Call"]
    assert calls[absent]["RecordingUrl"], "the v1 page: Record defaults to true"
    assert calls[off]["RecordingUrl"] is None


async def test_v3_without_record_is_not_recorded(
    make_sim: SimFactory, autojump_clock: object
) -> None:
    sim = make_sim(timing=_timing())
    async with api_client(sim) as api:
        sid = await _v3(api)
        await trio.sleep_until(sim.start + 100)
        details = (await api.get(f"{V3}/calls/{sid}")).json()["response"]["call_details"]
    assert details["state"] == "terminal"
    assert not details["recordings"]


async def test_v1_without_time_limit_is_cut_at_four_hours(
    make_sim: SimFactory, autojump_clock: object
) -> None:
    sim = make_sim(timing=_timing(talk=(20000, 20000)))
    async with api_client(sim) as api:
        sid = await _v1(api)
    # queued 1 s, each leg rings 5 s, then the talk is cut at the 4 h cap
    assert sim.call(sid).ended_at == sim.start + 1 + 5 + 5 + FOUR_HOURS


async def test_v3_without_limits_takes_the_pages_defaults(
    make_sim: SimFactory, autojump_clock: object
) -> None:
    long_talk = make_sim(timing=_timing(talk=(20000, 20000)))
    async with api_client(long_talk) as api:
        sid = await _v3(api)
    assert long_talk.call(sid).ended_at == long_talk.start + 1 + 5 + 5 + FOUR_HOURS
    rings_out = make_sim(
        timing=_timing(no_answer_ring=(50, 50)), numbers={CUSTOMER: {"outcome": "no_answer"}}
    )
    async with api_client(rings_out) as api:
        default = rings_out.call(await _v3(api))
        await trio.sleep_until(rings_out.start + 100)  # the customer's line is free again
        told = rings_out.call(await _v3(api, attempt_time_out=40))
    # the agent answers after 5 s; the customer rings attempt_time_out: 30 s unless told
    assert default.ended_at - default.created_at == 1 + 5 + 30
    assert told.ended_at - told.created_at == 1 + 5 + 40
