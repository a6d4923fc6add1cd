"""v1 bulk call details: ongoing calls omitted, filters, paging, limits, metadata."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from campaigner.simulator import Simulator
from tests.simulator.conftest import CUSTOMER, V1, connect_form

METADATA_FIELDS = ["Total", "PageSize", "FirstPageUri", "PrevPageUri", "NextPageUri"]


async def _place_many(api: httpx.AsyncClient, count: int) -> list[str]:
    sids = []
    for i in range(count):
        form = connect_form(From=f"+9198000{i:05d}", To=f"+9197000{i:05d}")
        response = await api.post(f"{V1}/Calls/connect.json", data=form)
        sids.append(response.json()["Call"]["Sid"])
        await trio.sleep(1)
    return sids


async def _bulk(api: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await api.get(f"{V1}/Calls.json", params=params)


async def test_ongoing_calls_are_never_listed(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    sids = await _place_many(api, 3)
    during = await _bulk(api, Sid=",".join(sids))
    assert during.json() == {
        "Metadata": {
            "Total": 0,
            "PageSize": 50,
            "FirstPageUri": f"{V1}/Calls.json?Sid={'%2C'.join(sids)}",
            "PrevPageUri": None,
            "NextPageUri": None,
        },
        "Calls": [],
    }
    await trio.sleep_until(sim.start + 71.5)  # the first call ended at 71, the others at 72, 73
    after = (await _bulk(api, Sid=",".join(sids))).json()
    assert [call["Sid"] for call in after["Calls"]] == [sids[0]]
    # in the finalisation window the record shows the placeholders
    assert after["Calls"][0]["EndTime"] == "1970-01-01 05:30:00"


async def test_paging_follows_next_page_uri_to_the_end(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    sids = await _place_many(api, 7)
    await trio.sleep_until(sim.start + 300)
    seen: list[str] = []
    url: str | None = f"{V1}/Calls.json?PageSize=3&SortBy=DateCreated:asc"
    pages = []
    while url:
        body = (await api.get(url)).json()
        assert list(body["Metadata"]) == METADATA_FIELDS
        pages.append(
            (body["Metadata"]["Total"], len(body["Calls"]), body["Metadata"]["PrevPageUri"])
        )
        seen += [call["Sid"] for call in body["Calls"]]
        url = body["Metadata"]["NextPageUri"]
    assert seen == sids
    assert [(total, size) for total, size, _ in pages] == [(7, 3), (7, 3), (7, 1)]
    assert pages[0][2] is None
    assert pages[1][2] == f"{V1}/Calls.json?PageSize=3&SortBy=DateCreated%3Aasc&Before={sids[3]}"


async def test_default_order_is_newest_first_and_before_goes_back(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    sids = await _place_many(api, 5)
    await trio.sleep_until(sim.start + 300)
    first = (await _bulk(api, PageSize=2)).json()
    assert [c["Sid"] for c in first["Calls"]] == [sids[4], sids[3]]
    second = (await api.get(first["Metadata"]["NextPageUri"])).json()
    assert [c["Sid"] for c in second["Calls"]] == [sids[2], sids[1]]
    back = (await api.get(second["Metadata"]["PrevPageUri"])).json()
    assert [c["Sid"] for c in back["Calls"]] == [sids[4], sids[3]]


async def test_filters_match_numbers_after_normalising(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    sids = await _place_many(api, 4)
    await trio.sleep_until(sim.start + 300)
    by_to = (await _bulk(api, To="+919700000002,09700000003")).json()
    assert {c["Sid"] for c in by_to["Calls"]} == {sids[2], sids[3]}
    assert {c["To"] for c in by_to["Calls"]} == {"09700000002", "09700000003"}
    by_from = (await _bulk(api, From="9800000001")).json()
    assert [c["Sid"] for c in by_from["Calls"]] == [sids[1]]
    by_phone = (await _bulk(api, PhoneNumber="+912241499102")).json()
    assert by_phone["Metadata"]["Total"] == 4
    none = (await _bulk(api, PhoneNumber="+918047091234")).json()
    assert none["Metadata"]["Total"] == 0


async def test_status_duration_direction_and_date_filters(
    sim: Simulator, api: httpx.AsyncClient, autojump_clock: object
) -> None:
    sim.set_number("+919700000001", outcome="busy")
    sids = await _place_many(api, 3)
    await trio.sleep_until(sim.start + 300)
    busy = (await _bulk(api, Status="busy,failed")).json()
    assert [c["Sid"] for c in busy["Calls"]] == [sids[1]]
    long_calls = (await _bulk(api, Duration="gte:60s;lte:100s")).json()
    assert {c["Sid"] for c in long_calls["Calls"]} == {sids[0], sids[2]}
    assert (await _bulk(api, Direction="inbound")).json()["Metadata"]["Total"] == 0
    assert (await _bulk(api, Direction="outbound-api")).json()["Metadata"]["Total"] == 3
    created = sim.calls()[0]
    day = "2000-01-01 00:00:00;lte:2000-01-02 00:00:00"
    assert (await _bulk(api, DateCreated=f"gte:{day}")).json()["Metadata"]["Total"] == 0
    assert created.status == "completed"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"Sid": ",".join(f"s{i}" for i in range(101))}, "Sid: at most 100 call SIDs"),
        ({"To": ",".join(CUSTOMER for _ in range(6))}, "To: at most 5 numbers"),
        ({"PageSize": "101"}, "PageSize must be between 1 and 100"),
        ({"SortBy": "Duration:asc"}, "SortBy: unsupported 'Duration:asc'"),
        ({"DateCreated": "gte:yesterday"}, "bad value 'yesterday'"),
        (
            {"DateCreated": "gte:2024-01-01 00:00:00;lte:2024-03-01 00:00:00"},
            "DateCreated: the range may span one month at most",
        ),
        ({"After": "nosuchcursor"}, "After: unknown cursor 'nosuchcursor'"),
    ],
)
async def test_bad_filters_are_400(
    api: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await _bulk(api, **params)
    assert response.status_code == 400
    assert response.json() == {"RestException": {"Status": 400, "Message": message}}


async def test_a_hundred_sids_are_allowed(api: httpx.AsyncClient) -> None:
    response = await _bulk(api, Sid=",".join(f"s{i}" for i in range(100)))
    assert response.status_code == 200
    assert response.json()["Calls"] == []


async def test_bulk_in_xml(sim: Simulator, api: httpx.AsyncClient, autojump_clock: object) -> None:
    (sid,) = await _place_many(api, 1)
    await trio.sleep_until(sim.start + 300)
    response = await api.get(f"{V1}/Calls", params={"Sid": sid})
    assert response.headers["content-type"] == "application/xml"
    assert response.text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<TwilioResponse><Metadata><Total>1</Total>'
        f"<PageSize>50</PageSize><FirstPageUri>{V1}/Calls?Sid={sid}</FirstPageUri>"
        f"<PrevPageUri/><NextPageUri/></Metadata><Calls><Call><Sid>{sid}</Sid>"
    )
