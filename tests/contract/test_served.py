"""The client against ``serve_http`` over real loopback sockets (real clock, short timeouts).

The in-process tests prove the two sides agree on content; these prove the same bytes
survive hypercorn and httpx's connection handling: an answer, an error, a lost answer
(the server breaks the connection mid-answer), retries, and the inspection endpoints that
out-of-process tests depend on.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from campaigner.clock import TrioWallClock
from campaigner.errors import AuthError, OutcomeUnknownError, ServerError
from campaigner.exotel import ExotelClient
from campaigner.simulator import Simulator, serve_http
from campaigner.simulator.phones import national

from .conftest import (
    ANCHOR,
    API_KEY,
    API_TOKEN,
    CUSTOMER,
    EXOPHONE_SID,
    HEARTBEAT_URL,
    Capture,
    assert_no_secrets,
    error_texts,
    scenario,
    settings,
    spec,
)

TIMEOUT = 3.0


class Served:
    """A simulator served on 127.0.0.1 with its delivery service, and its URL."""

    def __init__(self, sim: Simulator, url: str, capture: Capture) -> None:
        self.sim, self.url, self.capture = sim, url, capture

    def client(self, **kwargs: Any) -> ExotelClient:
        token = kwargs.pop("token", API_TOKEN)
        return ExotelClient(settings(token=token, base=self.url), timeout=TIMEOUT, **kwargs)


@pytest.fixture
def serve(nursery: trio.Nursery) -> Any:
    """``await serve(**scenario_changes)`` -> a :class:`Served` simulator."""

    async def start(**changes: Any) -> Served:
        capture = Capture()
        sim = Simulator(
            scenario(**changes), clock=TrioWallClock(ANCHOR), callback_client=capture.client()
        )
        await nursery.start(sim.run)
        binds = await nursery.start(partial(serve_http, sim, "127.0.0.1", 0))
        return Served(sim, binds[0], capture)

    return start


async def test_endpoints_over_http(serve: Any) -> None:
    served: Served = await serve()
    async with served.client() as client:
        v1 = await client.connect(spec("v1"))
        v3 = await client.connect(spec("v3", first="+919800000002", second="+919822222222"))
        details = await client.call_details(v1.sid, api="v1")
        v3_details = await client.call_details(v3.sid, api="v3")
        listed = await client.bulk_call_details(sids=[v1.sid, v3.sid])
        meta = await client.number_metadata(CUSTOMER)
        phone = await client.exophone_details(EXOPHONE_SID)
    assert [c.sid for c in served.sim.calls()] == [v1.sid, v3.sid]
    assert (details.sid, details.terminal, details.to_number) == (v1.sid, False, national(CUSTOMER))
    assert (v3_details.sid, v3_details.state) == (v3.sid, "active")
    assert listed == []  # both still ringing: bulk never lists ongoing calls
    assert (meta.phone_number, meta.dnd) == (national(CUSTOMER), False)
    assert (phone.sid, phone.outgoing_status) == (EXOPHONE_SID, "active")


async def test_401_over_http(serve: Any) -> None:
    served: Served = await serve(faults={"plain_401": 1.0})
    async with served.client(token="TOKwrongWrong1") as client:
        with pytest.raises(AuthError) as info:
            await client.call_details("x", api="v1")
    assert info.value.message == "Unauthorized"
    assert_no_secrets(*error_texts(info.value))


async def test_lost_answer_over_http(serve: Any) -> None:
    served: Served = await serve(faults={"connect_ambiguous": 1.0, "ambiguous_hold": 0.05})
    async with served.client() as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.connect(spec("v1"))
    (call,) = served.sim.calls()
    assert call.answer_lost
    assert [r.status for r in served.sim.requests] == [0]  # one POST, answer lost
    assert info.value.message.startswith("the call may or may not exist: answer lost (")
    assert_no_secrets(*error_texts(info.value))


async def test_5xx_get_retries_over_http(serve: Any) -> None:
    served: Served = await serve(faults={"get_5xx": 1.0})
    async with served.client(first_backoff=0.001) as client:
        with pytest.raises(ServerError):
            await client.call_details("x", api="v3")
    assert len(served.sim.requests) == 5


async def test_inspection_over_http(serve: Any) -> None:
    served: Served = await serve(heartbeat={"url": HEARTBEAT_URL, "interval": 3600})
    async with served.client() as client:
        placed = await client.connect(spec("v1"))
    auth = (API_KEY, API_TOKEN)
    async with httpx.AsyncClient(base_url=served.url, auth=auth, timeout=TIMEOUT) as raw:
        calls = (await raw.get("/_sim/calls")).json()
        beat = await raw.post("/_sim/heartbeat")
        await trio.testing.wait_all_tasks_blocked()
        stats = (await raw.get("/_sim/stats")).json()
        refused = await raw.get("/_sim/stats", auth=(API_KEY, "wrong"))
    assert [(c["sid"], c["api"], c["to_number"]) for c in calls] == [(placed.sid, "v1", CUSTOMER)]
    wall_at_start = calls[0]["created_at_wall"] - calls[0]["created_at"]
    assert wall_at_start == pytest.approx(ANCHOR.timestamp(), abs=0.01)
    assert beat.status_code == 202
    assert (stats["calls"], stats["requests"]) == (1, 1)
    assert stats["delivery"]["heartbeats_delivered"] == 2  # the first, and the one asked for
    assert len(served.capture.to("/heartbeat")) == 2
    assert refused.status_code == 401
