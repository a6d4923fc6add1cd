"""Bulk call details paging: follow NextPageUri's cursor; stop on null, repeat, empty, max."""

from __future__ import annotations

import httpx
import pytest

from campaigner.exotel import ExotelClient
from campaigner.settings import ExotelSettings

from .conftest import json_response
from .mock_exotel import ScriptedExotel


def page(sids: list[str], next_uri: str | None, *, with_key: bool = True) -> httpx.Response:
    metadata: dict[str, object] = {"Total": 999, "PageSize": 2}
    if with_key:
        metadata["NextPageUri"] = next_uri
    calls = [{"Sid": s, "Status": "completed", "Duration": "9"} for s in sids]
    return json_response(200, {"Metadata": metadata, "Calls": calls})


async def run(
    settings: ExotelSettings, steps: list[httpx.Response], **kwargs: object
) -> tuple[list[str], list[str]]:
    exotel = ScriptedExotel(list(steps))
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        calls = await client.bulk_call_details(**kwargs)  # type: ignore[arg-type]
    cursors = [
        "&".join(
            f"{k}={v}" for k, v in s.request.url.params.multi_items() if k in ("After", "Before")
        )
        for s in exotel.sent
    ]
    return [c.sid for c in calls], cursors


async def test_follows_cursor_until_next_is_null(settings: ExotelSettings) -> None:
    sids, cursors = await run(
        settings,
        [
            page(["a", "b"], "/v1/Accounts/acme1/Calls.json?PageSize=2&After=c1"),
            page(["c", "d"], "https://elsewhere.example/v1/x?After=c2"),  # only the cursor is used
            page(["e"], None),
        ],
        page_size=2,
        status=["completed"],
    )
    assert sids == ["a", "b", "c", "d", "e"]
    assert cursors == ["", "After=c1", "After=c2"]


async def test_every_page_keeps_our_filters(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel([page(["a"], "/x?After=c1"), page(["b"], None)])
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        await client.bulk_call_details(sids=["a", "b"], page_size=1, sort_ascending=True)
    assert [str(s.request.url) for s in exotel.sent] == [
        "http://exotel.test/v1/Accounts/acme1/Calls.json?Sid=a%2Cb&PageSize=1&SortBy=DateCreated%3Aasc",
        "http://exotel.test/v1/Accounts/acme1/Calls.json?Sid=a%2Cb&PageSize=1&SortBy=DateCreated%3Aasc&After=c1",
    ]


async def test_stops_when_next_uri_is_missing(settings: ExotelSettings) -> None:
    sids, cursors = await run(settings, [page(["a"], None, with_key=False), page(["z"], None)])
    assert (sids, cursors) == (["a"], [""])


async def test_stops_when_metadata_is_missing(settings: ExotelSettings) -> None:
    sids, _ = await run(
        settings, [json_response(200, {"Calls": [{"Sid": "a"}]}), page(["z"], None)]
    )
    assert sids == ["a"]


async def test_stops_when_cursor_repeats(settings: ExotelSettings) -> None:
    sids, cursors = await run(
        settings,
        [page(["a"], "/x?After=c1"), page(["b"], "/x?After=c2"), page(["c"], "/x?After=c1")],
    )
    assert sids == ["a", "b", "c"]
    assert cursors == ["", "After=c1", "After=c2"]


async def test_stops_on_empty_page(settings: ExotelSettings) -> None:
    sids, cursors = await run(settings, [page(["a"], "/x?After=c1"), page([], "/x?After=c2")])
    assert (sids, cursors) == (["a"], ["", "After=c1"])


async def test_max_pages_bound(settings: ExotelSettings) -> None:
    steps = [page([f"s{i}"], f"/x?After=c{i}") for i in range(10)]
    sids, cursors = await run(settings, steps, max_pages=3)
    assert (sids, len(cursors)) == (["s0", "s1", "s2"], 3)


async def test_before_cursor_and_duplicate_sids(settings: ExotelSettings) -> None:
    sids, cursors = await run(settings, [page(["a", "b"], "/x?Before=p1"), page(["b", "c"], None)])
    assert sids == ["a", "b", "c"]  # a SID seen twice across pages is reported once
    assert cursors == ["", "Before=p1"]


async def test_more_than_100_sids_is_a_value_error(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel([page([], None)])
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        with pytest.raises(ValueError, match="at most 100 SIDs per bulk request; batch them"):
            await client.bulk_call_details(sids=[f"s{i}" for i in range(101)])
    assert exotel.sent == []


async def test_bulk_observations_are_bulk_sourced(settings: ExotelSettings) -> None:
    exotel = ScriptedExotel([page(["a"], None)])
    async with ExotelClient(settings, transport=exotel.transport()) as client:
        (obs,) = await client.bulk_call_details(sids=["a"])
    assert (obs.source, obs.terminal, obs.duration, obs.raw["Sid"]) == ("bulk", True, 9, "a")
