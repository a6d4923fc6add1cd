"""Scale, determinism and invariants: many calls in virtual time, no task per call."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
import trio

from campaigner.clock import TrioWallClock
from campaigner.simulator import CallInfo, Scenario, Simulator
from tests.simulator.conftest import V1, Recorder

AUTH_HEADER = "Basic " + base64.b64encode(b"sandbox-key:sandbox-token").decode()
AGENTS = [f"+9198000{i:05d}" for i in range(50)]


def _connect(i: int) -> httpx.Request:
    form = {
        "From": AGENTS[i % len(AGENTS)],
        "To": f"+9197{i:08d}",
        "CallerId": "02241499102",
        "StatusCallback": f"http://hooks.test/cb?n={i}",
        "StatusCallbackEvents[0]": "terminal",
    }
    return httpx.Request(
        "POST",
        f"http://sim{V1}/Calls/connect.json",
        data=form,
        headers={"Authorization": AUTH_HEADER},
    )


def _scenario(seed: int) -> Scenario:
    return Scenario.model_validate(
        {"seed": seed, "rate_limit": {"requests": 10**9}, "timing": {"record_finalize_delay": 5}}
    )


async def _run(sim: Simulator, count: int, spacing: float) -> list[str]:
    sids = []
    for i in range(count):
        response = await sim.handle(_connect(i))
        sids.append(response.json()["Call"]["Sid"])
        if i % 100 == 99:
            await trio.sleep(spacing)
    return sids


def _overlapping_answered_calls(calls: list[CallInfo]) -> int:
    """Calls of one agent that overlap in time although both really rang the agent."""
    by_agent: dict[str, list[CallInfo]] = defaultdict(list)
    for info in calls:
        if info.status != "busy" or info.kind != "agent_unanswered":
            by_agent[info.from_number].append(info)
    overlaps = 0
    for infos in by_agent.values():
        infos.sort(key=lambda c: c.created_at)
        overlaps += sum(
            1 for a, b in zip(infos, infos[1:], strict=False) if b.created_at < a.ended_at
        )
    return overlaps


@pytest.mark.slow
async def test_twenty_thousand_calls(
    recorder: Recorder, nursery: trio.Nursery, autojump_clock: object
) -> None:
    sim = Simulator(_scenario(11), callback_client=recorder.client(), request_log_size=100)
    await nursery.start(sim.run)
    sids = await _run(sim, 20_000, spacing=1.0)
    await trio.sleep(1000)
    calls = sim.calls()
    assert len(calls) == len(set(sids)) == 20_000
    assert all(info.ended_at <= trio.current_time() for info in calls)
    # every terminal callback delivered exactly once, to the URL given with the call
    delivered = [got.url for got in recorder.got]
    assert len(delivered) == len(set(delivered)) == 20_000
    assert sim.stats().pending_deliveries == 0
    # a number on a call answers busy: no agent is ever rung for two calls at once
    assert _overlapping_answered_calls(calls) == 0
    assert {info.kind for info in calls} >= {"completed", "busy", "no_answer", "agent_unanswered"}
    # every call the simulator placed appears in the export
    listed: set[str] = set()
    for start in range(0, len(sids), 100):
        params = {"Sid": ",".join(sids[start : start + 100]), "PageSize": "100"}
        request = httpx.Request(
            "GET",
            f"http://sim{V1}/Calls.json",
            params=params,
            headers={"Authorization": AUTH_HEADER},
        )
        listed |= {call["Sid"] for call in (await sim.handle(request)).json()["Calls"]}
    assert listed == set(sids)


async def test_same_seed_same_everything(autojump_clock: object) -> None:
    anchor = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)

    async def once() -> tuple[list[CallInfo], list[str]]:
        start = trio.current_time()
        clock = TrioWallClock(anchor)
        sim = Simulator(_scenario(5), clock=clock, sid_nonce="fixed")
        bodies = []
        for i in range(300):
            bodies.append((await sim.handle(_connect(i))).text)
            await trio.sleep(0.5)
        await trio.sleep_until(start + 1000)
        for info in sim.calls()[:50]:
            request = httpx.Request(
                "GET",
                f"http://sim{V1}/Calls/{info.sid}.json?details=true",
                headers={"Authorization": AUTH_HEADER},
            )
            bodies.append((await sim.handle(request)).text)
        shifted = [_shift(info, start) for info in sim.calls()]
        return shifted, bodies

    first = await once()
    second = await once()
    assert first == second
    third_sim = Simulator(_scenario(6), clock=TrioWallClock(anchor), sid_nonce="fixed")
    other = json.loads((await third_sim.handle(_connect(0))).text)
    assert other["Call"]["Sid"] != json.loads(first[1][0])["Call"]["Sid"]


async def test_instances_hand_out_different_sids_for_the_same_seed(autojump_clock: object) -> None:
    """A resumed sandbox run meets a new simulator: its SIDs must not repeat the first's."""
    anchor = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)
    seen: list[set[str]] = []
    for _ in range(2):
        sim = Simulator(_scenario(5), clock=TrioWallClock(anchor))
        sids = set()
        for i in range(20):
            sids.add(json.loads((await sim.handle(_connect(i))).text)["Call"]["Sid"])
            await trio.sleep(0.5)
        seen.append(sids)
    assert len(seen[0]) == len(seen[1]) == 20
    assert not seen[0] & seen[1]


def _shift(info: CallInfo, start: float) -> CallInfo:
    answered = None if info.answered_at is None else info.answered_at - start
    return replace(
        info,
        created_at=info.created_at - start,
        answered_at=answered,
        ended_at=info.ended_at - start,
    )
