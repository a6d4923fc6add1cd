"""Every endpoint, client against simulator: what one sends the other reads, both ways."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import trio
from trio.testing import MockClock

from campaigner.exotel import ExotelClient
from campaigner.simulator.phones import national

from .conftest import (
    AGENT,
    ANCHOR,
    CUSTOMER,
    END,
    EXOPHONE,
    EXOPHONE_SID,
    FINAL,
    TALK,
    Build,
    Harness,
    Tap,
    settings,
    spec,
)


def pairs(n: int) -> list[tuple[str, str]]:
    """``n`` (agent, customer) numbers, all different."""
    return [(f"+9198000{i:05d}", f"+9198111{i:05d}") for i in range(n)]


# ---- v1 connect ------------------------------------------------------------------------


async def test_v1_connect_answer_is_the_created_call(h: Harness, autojump_clock: MockClock) -> None:
    obs = await h.client.connect(spec("v1", custom_field="order-17"))
    (info,) = h.sim.calls()
    assert (obs.sid, obs.api, obs.source, obs.terminal) == (info.sid, "v1", "connect", False)
    assert (info.from_number, info.to_number, info.caller_id) == (AGENT, CUSTOMER, EXOPHONE)
    # docs/exotel/quirks.md: numbers come back 0-prefixed national; PhoneNumberSid is the ExoPhone.
    assert (obs.from_number, obs.to_number, obs.caller_id) == (
        national(AGENT),
        national(CUSTOMER),
        national(EXOPHONE),
    )
    assert obs.status == "in-progress"
    assert obs.created_at == ANCHOR
    assert h.seen("POST", "v1.connect") == [200]


@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_ring_timeout_and_time_limit_reach_the_call(
    make: Build, autojump_clock: MockClock, api: str
) -> None:
    # v1 TimeOut/TimeLimit, v3 attempt_time_out/max_time_limit: the simulator only honours
    # them if both sides spell them the same.
    h: Harness = await make(numbers={CUSTOMER: {"outcome": "no_answer"}})
    rang = await h.client.connect(spec(api, ring_timeout=20))
    talked = await h.client.connect(spec(api, first="+919800000002", second="+919822222222",
                                         time_limit=30))  # fmt: skip
    info = h.sim.call(rang.sid)
    # The ring of the leg that never answers is cut at 20 s: queued 1 + leg 1 rings 5 + 20.
    assert info.ended_at - info.created_at == 1 + 5 + 20
    info = h.sim.call(talked.sid)
    assert info.answered_at is not None
    assert info.ended_at - info.answered_at == 30  # the 60 s talk was cut


async def test_v1_connect_to_a_flow(h: Harness, autojump_clock: MockClock) -> None:
    obs = await h.client.connect(spec("v1", second=None, flow_app_id="246810"))
    info = h.sim.call(obs.sid)
    assert (info.to_number, info.kind) == (None, "completed")
    await h.until(obs.sid, FINAL)
    details = await h.client.call_details(obs.sid, api="v1")
    assert details.detail_leg_status == ("completed", None)
    assert (details.status, details.record_complete) == ("completed", True)


# ---- v1 call details -------------------------------------------------------------------


async def test_v1_details_with_details_true(h: Harness, autojump_clock: MockClock) -> None:
    obs = await h.client.connect(spec("v1", record=True))
    await h.until(obs.sid, FINAL)
    details = await h.client.call_details(obs.sid, api="v1")
    info = h.sim.call(obs.sid)
    assert info.answered_at is not None
    assert "details=true" in str(h.tap.urls[-1])
    assert (details.source, details.terminal, details.status) == ("details", True, info.status)
    assert details.detail_leg_status == ("completed", "completed")
    assert details.talk_time == info.ended_at - info.answered_at == TALK
    assert details.duration == END
    assert details.ended_at == ANCHOR + timedelta(seconds=END)
    assert details.recording_url == (
        f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/acmecontract/{obs.sid}.mp3"
    )
    assert details.price == Decimal("3")  # two started minutes of the first leg at 1.50


# ---- v1 bulk call details ----------------------------------------------------------------


async def _place(h: Harness, count: int, gap: float) -> list[str]:
    """Place a v1 call for each of ``pairs(count)``, ``gap`` seconds apart."""
    sids = []
    for agent, customer in pairs(count):
        sids.append((await h.client.connect(spec("v1", first=agent, second=customer))).sid)
        await trio.sleep(gap)
    return sids


async def test_bulk_pages_with_cursors_to_the_end(h: Harness, autojump_clock: MockClock) -> None:
    sids = await _place(h, 7, 10)
    await trio.sleep(FINAL)
    found = await h.client.bulk_call_details(page_size=3)
    assert [o.sid for o in found] == sids[::-1]  # 001: newest first by default
    pages = [u for u in h.tap.urls if u.path.endswith("/Calls.json")]
    assert [(u.params.get("PageSize"), u.params.get("After")) for u in pages] == [
        ("3", None),
        ("3", sids[4]),
        ("3", sids[1]),
    ]
    ascending = await h.client.bulk_call_details(page_size=5, sort_ascending=True)
    assert [o.sid for o in ascending] == sids
    assert all(o.source == "bulk" and o.terminal and o.record_complete for o in found)


async def test_bulk_never_lists_ongoing_calls(h: Harness, autojump_clock: MockClock) -> None:
    first = await h.client.connect(spec("v1"))
    await trio.sleep(50)
    second = await h.client.connect(spec("v1", first="+919800000002", second="+919822222222"))
    await h.until(first.sid, END)
    # docs/exotel/quirks.md: "a SID missing from a bulk answer is still in progress, not lost".
    found = await h.client.bulk_call_details(sids=[first.sid, second.sid])
    assert [o.sid for o in found] == [first.sid]
    assert (found[0].status, found[0].record_complete) == ("completed", False)  # finished late
    await h.until(second.sid, END)
    found = await h.client.bulk_call_details(sids=[first.sid, second.sid])
    assert {o.sid for o in found} == {first.sid, second.sid}


async def test_bulk_number_and_date_filters(h: Harness, autojump_clock: MockClock) -> None:
    sids = await _place(h, 4, 100)
    await trio.sleep(FINAL)
    agents, customers = zip(*pairs(4), strict=True)
    by_to = await h.client.bulk_call_details(to=[customers[1]])
    by_local = await h.client.bulk_call_details(to=[national(customers[2])])
    by_from = await h.client.bulk_call_details(from_=agents[:2])
    window = (ANCHOR + timedelta(seconds=150), ANCHOR + timedelta(seconds=310))
    by_date = await h.client.bulk_call_details(date_created=window, sort_ascending=True)
    assert [o.sid for o in by_to] == [sids[1]]
    assert [o.sid for o in by_local] == [sids[2]]
    assert [o.sid for o in by_from] == [sids[1], sids[0]]
    assert [o.sid for o in by_date] == [sids[2], sids[3]]  # created at 200 s and 300 s
    (sent,) = [u for u in h.tap.urls if u.params.get("DateCreated")]
    assert sent.params["DateCreated"] == "gte:2025-01-06 10:02:30;lte:2025-01-06 10:05:10"


async def test_bulk_status_filter(make: Build, autojump_clock: MockClock) -> None:
    h: Harness = await make(numbers={pairs(3)[1][1]: {"outcome": "busy"}})
    sids = await _place(h, 3, 1)
    await trio.sleep(FINAL)
    busy = await h.client.bulk_call_details(status=["busy"])
    assert [(o.sid, o.status) for o in busy] == [(sids[1], "busy")]


# ---- number metadata ---------------------------------------------------------------------


@pytest.mark.parametrize(("dnd", "expected"), [(True, True), (False, False), ("unavailable", None)])
async def test_number_metadata_dnd(
    make: Build, dnd: object, expected: bool | None, autojump_clock: MockClock
) -> None:
    h: Harness = await make(numbers={CUSTOMER: {"dnd": dnd, "circle": "KA", "operator": "A"}})
    meta = await h.client.number_metadata(CUSTOMER)
    assert meta.dnd is expected
    assert (meta.phone_number, meta.circle, meta.circle_name) == (
        national(CUSTOMER),
        "KA",
        "Karnataka Telecom Circle",
    )
    assert (meta.operator, meta.operator_name, meta.number_type) == ("A", "Airtel", "Mobile")


# ---- v2 ExoPhone details -----------------------------------------------------------------


async def test_exophone_healthy(h: Harness, autojump_clock: MockClock) -> None:
    details = await h.client.exophone_details(EXOPHONE_SID)
    assert (details.sid, details.phone_number) == (EXOPHONE_SID, EXOPHONE)
    assert (details.incoming_status, details.outgoing_status) == ("active", "active")
    assert details.outgoing_alternates == ("+918047091234",)  # the default scenario's
    assert details.last_check_time == ANCHOR


async def test_exophone_outage_names_alternates(h: Harness, autojump_clock: MockClock) -> None:
    await trio.sleep(30)
    h.sim.set_exophone_health(
        EXOPHONE_SID, outgoing="major_outage", alternates=("08047091234", "01139585476")
    )
    details = await h.client.exophone_details(EXOPHONE_SID)
    assert (details.incoming_status, details.outgoing_status) == ("active", "major_outage")
    assert details.outgoing_alternates == ("+918047091234", "+911139585476")
    assert details.last_check_time == ANCHOR + timedelta(seconds=30)


# ---- v3 --------------------------------------------------------------------------------------


async def test_v3_create_details_and_legs(h: Harness, autojump_clock: MockClock) -> None:
    obs = await h.client.connect(spec("v3", record=True, custom_field="order-9"))
    info = h.sim.call(obs.sid)
    assert (obs.api, obs.state, obs.status, obs.terminal) == ("v3", "active", None, False)
    assert obs.caller_id == national(EXOPHONE)  # 002: the POST answer's local virtual_number
    assert obs.custom_field == "order-9"
    assert (info.api, info.from_number, info.to_number) == ("v3", AGENT, CUSTOMER)
    await h.until(obs.sid, 30)
    live = await h.client.call_details(obs.sid, api="v3")
    assert (live.state, live.status, live.terminal, live.ended_at) == ("active", None, False, None)
    assert [leg.status for leg in await h.client.call_legs(obs.sid)] == ["in-progress"] * 2
    await h.until(obs.sid, FINAL)
    done = await h.client.call_details(obs.sid, api="v3")
    assert (done.state, done.status, done.terminal) == ("terminal", info.v3_status, True)
    assert done.talk_time == info.ended_at - (info.answered_at or 0) == TALK
    assert done.caller_id == EXOPHONE
    assert done.recording_url is not None
    assert obs.sid in done.recording_url
    assert [leg.status for leg in await h.client.call_legs(obs.sid)] == ["completed"] * 2


# ---- XML ---------------------------------------------------------------------------------------


def _drop_json(request: httpx.Request) -> None:
    # 003: without ".json" v1 answers XML under <TwilioResponse>.
    if request.url.path.startswith("/v1/") and request.url.path.endswith(".json"):
        request.url = request.url.copy_with(path=request.url.path.removesuffix(".json"))


async def test_the_client_reads_the_simulators_v1_xml(
    h: Harness, autojump_clock: MockClock
) -> None:
    tap = Tap(h.sim.transport(), rewrite=_drop_json)
    async with ExotelClient(settings(), transport=tap) as xml:
        obs = await xml.connect(spec("v1"))
        await h.until(obs.sid, FINAL)
        details = await xml.call_details(obs.sid, api="v1")
        found = await xml.bulk_call_details()
        meta = await xml.number_metadata(CUSTOMER)
    assert all(not u.path.endswith(".json") for u in tap.urls)
    json_details = await h.client.call_details(obs.sid, api="v1")
    # Every value the JSON answer carries, the XML one carries too.
    assert details == json_details
    assert [o.sid for o in found] == [obs.sid]
    assert found[0].record_complete
    assert meta.dnd is False
