"""The simulator's inspection endpoints (``/_sim/...``, not Exotel's), in process.

Tests that run ``campaigner sim`` in another process ask these what the simulator did;
they must tell the same story as ``Simulator.calls()``/``stats()`` and must not change it
(no rate limit spent, no fault applied, nothing logged).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
from trio.testing import MockClock

from campaigner.errors import NotFoundError, OutcomeUnknownError
from campaigner.simulator import Simulator

from .conftest import (
    AGENT,
    ANCHOR,
    API_KEY,
    API_TOKEN,
    CALLBACK_URL,
    CUSTOMER,
    END,
    EXOPHONE,
    HEARTBEAT_URL,
    Build,
    Harness,
    spec,
)


def inspector(
    sim: Simulator, auth: tuple[str, str] | None = (API_KEY, API_TOKEN)
) -> httpx.AsyncClient:
    """A plain httpx client on ``sim``'s transport (what another process would use)."""
    return httpx.AsyncClient(transport=sim.transport(), base_url="http://sim.test", auth=auth)


@pytest.fixture
async def raw(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with inspector(h.sim) as client:
        yield client


def call_entry(sid: str, created: float, **changes: Any) -> dict[str, Any]:
    """The JSON of a completed v1 call from AGENT to CUSTOMER created at ``created``."""
    entry = {
        "sid": sid,
        "api": "v1",
        "from_number": AGENT,
        "to_number": CUSTOMER,
        "caller_id": EXOPHONE,
        "created_at": created,
        "created_at_wall": ANCHOR.timestamp() + created,
        "answered_at": created + 11,
        "answered_at_wall": ANCHOR.timestamp() + created + 11,
        "ended_at": created + END,
        "ended_at_wall": ANCHOR.timestamp() + created + END,
        "status": "completed",
        "v3_status": "completed",
        "kind": "completed",
        "answer_lost": False,
        "created_on_5xx": False,
    }
    return {**entry, **changes}


async def test_calls_lists_every_call_with_both_times(
    h: Harness, raw: httpx.AsyncClient, autojump_clock: MockClock
) -> None:
    await trio.sleep(5)
    first = await h.client.connect(spec("v1"))
    await trio.sleep(100)
    second = await h.client.connect(spec("v1"))
    response = await raw.get("/_sim/calls")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert response.json() == [call_entry(first.sid, 5.0), call_entry(second.sid, 105.0)]
    assert [c.sid for c in h.sim.calls()] == [first.sid, second.sid]


async def test_calls_pages_with_offset_and_limit(
    h: Harness, raw: httpx.AsyncClient, autojump_clock: MockClock
) -> None:
    sids = []
    for i in range(5):
        sids.append((await h.client.connect(spec("v1", second=f"+91982222222{i}"))).sid)
    page = await raw.get("/_sim/calls", params={"offset": 1, "limit": 2})
    rest = await raw.get("/_sim/calls", params={"offset": 3})
    past = await raw.get("/_sim/calls", params={"offset": 9})
    bad = await raw.get("/_sim/calls", params={"offset": "-1"})
    assert [c["sid"] for c in page.json()] == sids[1:3]
    assert [c["sid"] for c in rest.json()] == sids[3:]
    assert past.json() == []
    assert (bad.status_code, bad.json()) == (
        400,
        {"error": "offset and limit must be non-negative integers"},
    )


async def test_a_call_whose_answer_was_lost(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(faults={"connect_ambiguous": 1.0})
    with pytest.raises(OutcomeUnknownError):
        await h.client.connect(spec("v3"))
    async with inspector(h.sim) as raw:
        (entry,) = (await raw.get("/_sim/calls")).json()
    assert (entry["api"], entry["answer_lost"], entry["created_on_5xx"]) == ("v3", True, False)
    assert entry["sid"] == h.sim.calls()[0].sid


async def test_stats(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(heartbeat={"url": HEARTBEAT_URL, "interval": 60})
    await h.client.connect(spec("v1", status_callback_url=CALLBACK_URL))
    with pytest.raises(NotFoundError):
        await h.client.call_details("nosuchcall", api="v1")
    await trio.sleep(90)
    async with inspector(h.sim) as raw:
        body = (await raw.get("/_sim/stats")).json()
    snapshot = h.sim.stats()
    assert body == {
        "now": 90.0,
        "now_wall": ANCHOR.timestamp() + 90,
        "calls": 1,
        "requests": 2,
        "counters": [
            {"method": "GET", "kind": "v1.call", "status": 404, "count": 1},
            {"method": "POST", "kind": "v1.connect", "status": 200, "count": 1},
        ],
        "delivery": {
            "delivered": 1,
            "attempts": 1,
            "retried": 0,
            "gave_up": 0,
            "dropped": 0,
            "duplicated": 0,
            "delayed": 0,
            "reordered": 0,
            "early": 0,
            "heartbeats_sent": 2,
            "heartbeats_delivered": 2,
        },
        "pending_deliveries": 1,  # the next heartbeat, due at 120 s
    }
    assert snapshot.requests == 2  # asking did not count


async def test_heartbeat_now(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(heartbeat={"url": HEARTBEAT_URL, "interval": 3600})
    async with inspector(h.sim) as raw:
        await trio.sleep(30)
        response = await raw.post("/_sim/heartbeat")
        await trio.sleep(1)
    assert (response.status_code, response.json()) == (202, {"heartbeat": "queued"})
    assert [d.time for d in h.capture.to("/heartbeat")] == [0.0, 30.0]


async def test_heartbeat_without_a_url(
    raw: httpx.AsyncClient, h: Harness, autojump_clock: MockClock
) -> None:
    response = await raw.post("/_sim/heartbeat")
    assert (response.status_code, response.json()) == (
        409,
        {"error": "the scenario has no heartbeat.url"},
    )


@pytest.mark.parametrize(
    ("method", "path", "auth", "status", "error"),
    [
        ("GET", "/_sim/calls", None, 401, "Authentication failed"),
        ("GET", "/_sim/stats", (API_KEY, "wrong"), 401, "Authentication failed"),
        ("POST", "/_sim/heartbeat", None, 401, "Authentication failed"),
        ("GET", "/_sim/nothing", (API_KEY, API_TOKEN), 404, "no inspection endpoint /_sim/nothing"),
        ("POST", "/_sim/calls", (API_KEY, API_TOKEN), 405, "/_sim/calls answers GET only"),
        ("GET", "/_sim/heartbeat", (API_KEY, API_TOKEN), 405, "/_sim/heartbeat answers POST only"),
    ],
)
async def test_refusals(
    h: Harness,
    autojump_clock: MockClock,
    method: str,
    path: str,
    auth: tuple[str, str] | None,
    status: int,
    error: str,
) -> None:
    async with inspector(h.sim, auth) as raw:
        response = await raw.request(method, path)
    assert (response.status_code, response.json()) == (status, {"error": error})


async def test_asking_spends_no_budget_and_meets_no_fault(
    make: Build, autojump_clock: MockClock
) -> None:
    h: Harness = await make(
        rate_limit={"requests": 1, "window": 60},
        faults={"get_5xx": 1.0, "plain_401": 1.0, "bursts": [{"at": 0, "duration": 60}]},
    )
    async with inspector(h.sim) as raw:
        answers = [await raw.get(f"/_sim/{p}") for p in ("calls", "stats") * 5]
    assert {r.status_code for r in answers} == {200}
    assert (h.sim.stats().requests, h.sim.requests) == (0, [])
