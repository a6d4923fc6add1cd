"""Caller ID health end to end: heartbeats, v2 details, failover, pause and recovery."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import trio
import trio.testing
from pydantic import SecretStr

from campaigner.campaign.loader import load_campaign
from campaigner.clock import TrioWallClock
from campaigner.engine.context import RunContext
from campaigner.engine.progress import Progress
from campaigner.engine.receiver import MAX_BODY, CallbackReceiver
from campaigner.engine.run import RunOptions, run_campaign
from campaigner.exotel.models import Heartbeat
from campaigner.sandbox import SANDBOX_CALLBACKS, Sandbox
from campaigner.settings import CampaignerSettings
from campaigner.simulator import CallInfo, Scenario, Simulator
from campaigner.store.journal import Journal
from campaigner.store.shared import SharedState
from tests.engine.harness import MONDAY_10AM, run_against_sim, sim_host, write_campaign

TOKEN = "heartbeat-secret-0123456789"
HEARTBEATS = CampaignerSettings(heartbeat_token=SecretStr(TOKEN), heartbeat_interval=1)
MUMBAI, BANGALORE = "+912241499102", "+918047091234"  # the sandbox's ExoPhones 02241499102...

CAMPAIGN = """
name: health
api: v1
caller_ids: {caller_ids}
dial:
  mode: agent_first
  agents: ["+919900000001", "+919900000002"]
contacts: {{inline: {contacts}}}
pacing: {{max_concurrent_calls: 2}}
screening: {{dnd: call}}
health: {{failover: {failover}}}
"""

NUMBERS = [f"+9195{i:08d}" for i in range(1, 41)]
OUTAGE = (300.0, 900.0)  # simulated seconds after start: 02241499102 cannot place calls


def campaign(tmp_path: Path, caller_ids: list[str], failover: bool = False) -> Path:
    text = CAMPAIGN.format(
        caller_ids=json.dumps(caller_ids),
        contacts=NUMBERS,
        failover=str(failover).lower(),
    )
    return write_campaign(tmp_path, text)


def outage_scenario(*, heartbeat: bool = True, **extra: Any) -> Scenario:
    timeline = [
        {"at": OUTAGE[0], "exophone": "02241499102", "outgoing": "major_outage"},
        {"at": OUTAGE[1], "exophone": "02241499102", "outgoing": "active"},
    ]
    beats = {"url": f"{SANDBOX_CALLBACKS}/heartbeat/{TOKEN}", "interval": 60} if heartbeat else {}
    return Scenario.model_validate(
        {
            "outcome_mix": {"completed": 1},
            "timing": {"talk": [60, 60], "ring": [2, 2], "queue": [0, 0]},
            "heartbeat": {**beats, "timeline": timeline},
            **extra,
        }
    )


def by_period(sim: Simulator) -> tuple[set[str], set[str], set[str]]:
    """Caller IDs used before, during and after the outage (a second of slack at each edge)."""
    before: set[str] = set()
    during: set[str] = set()
    after: set[str] = set()
    for call in sim.calls():
        t = call.created_at - sim.start
        if t < OUTAGE[0]:
            before.add(call.caller_id)
        elif OUTAGE[0] + 1 < t < OUTAGE[1]:
            during.add(call.caller_id)
        elif t > OUTAGE[1] + 1:
            after.add(call.caller_id)
    return before, during, after


def events(path: Path) -> list[tuple[str, dict[str, Any]]]:
    with Journal.read(path) as journal:
        rows = journal.conn.execute("SELECT kind, data FROM run_log ORDER BY id").fetchall()
    wanted = {"caller_id_down", "caller_id_up", "failover", "paused", "resumed", "heartbeat"}
    return [(r[0], json.loads(r[1])) for r in rows if r[0] in wanted]


def never_dialed_down(calls: list[CallInfo]) -> bool:
    return not [c for c in calls if c.kind == "from_leg_no_dial"]


async def test_a_heartbeat_takes_a_caller_id_out_and_back(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = campaign(tmp_path, [MUMBAI, BANGALORE])
    out = await run_against_sim(path, outage_scenario(), campaigner=HEARTBEATS)
    assert out.result.reason == "complete"
    before, during, after = by_period(out.sim)
    assert before == {MUMBAI, BANGALORE}
    assert during == {BANGALORE}  # calls moved to the other caller ID...
    assert after == {MUMBAI, BANGALORE}  # ...and came back
    assert never_dialed_down(out.sim.calls())
    kinds = [
        (kind, data.get("exophone") or data.get("status_type"))
        for kind, data in events(out.journal_path)
    ]
    assert kinds == [
        ("heartbeat", "OK"),
        ("caller_id_down", "02241499102"),
        ("heartbeat", "WARNING"),
        ("caller_id_up", "02241499102"),
        ("heartbeat", "OK"),
    ]
    assert out.sim.stats().counters.get(("GET", "v2.exophone", 200), 0) == 0  # heartbeats sufficed


async def test_failover_uses_the_alternate_then_returns(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = campaign(tmp_path, [MUMBAI], failover=True)
    out = await run_against_sim(path, outage_scenario(), campaigner=HEARTBEATS)
    before, during, after = by_period(out.sim)
    assert (before, during, after) == ({MUMBAI}, {BANGALORE}, {MUMBAI})
    assert never_dialed_down(out.sim.calls())
    kinds = [kind for kind, _ in events(out.journal_path) if kind != "heartbeat"]
    assert kinds == ["caller_id_down", "paused", "failover", "resumed", "caller_id_up"]
    failover = next(data for kind, data in events(out.journal_path) if kind == "failover")
    assert failover == {
        "exophone": "02241499102",
        "number": MUMBAI,
        "alternate": BANGALORE,
        "alternate_sid": "08047091234",
    }
    # the alternates came from v2 details of the ExoPhone that went down: one request
    assert out.sim.stats().counters.get(("GET", "v2.exophone", 200), 0) == 1


async def test_every_caller_id_down_pauses_until_v2_details_say_it_is_back(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = campaign(tmp_path, [MUMBAI])
    scenario = outage_scenario(heartbeat=False)
    down_from_start = scenario.model_copy(
        update={
            "exophones": tuple(
                p.model_copy(update={"outgoing": "major_outage"}) if p.sid == "02241499102" else p
                for p in scenario.exophones
            )
        }
    )
    out = await run_against_sim(path, down_from_start)
    assert out.result.reason == "complete"
    assert (
        "heartbeats disabled (CAMPAIGNER_HEARTBEAT_TOKEN is not set): caller ID health "
        "comes from v2 ExoPhone details (docs/health.md)" in out.messages
    )
    calls = out.sim.calls()
    assert min(c.created_at - out.sim.start for c in calls) > OUTAGE[1]  # nothing dialed meanwhile
    assert never_dialed_down(calls)
    checks = [r.time - out.sim.start for r in out.sim.requests if r.kind == "v2.exophone"]
    assert [round(t) for t in checks] == [0, 300, 600, 900]  # re-checked every 5 minutes
    kinds = [kind for kind, _ in events(out.journal_path)]
    assert kinds == ["caller_id_down", "paused", "caller_id_up", "resumed"]
    with Journal.read(out.journal_path) as journal:
        attempts = {r[0] for r in journal.conn.execute("SELECT attempts FROM contacts")}
    assert attempts == {1}  # the pause burned no attempt


async def test_payload_too_large_takes_health_from_v2_details(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = campaign(tmp_path, [MUMBAI, BANGALORE])
    scenario = outage_scenario()
    too_large = scenario.model_copy(
        update={"heartbeat": scenario.heartbeat.model_copy(update={"payload_too_large": True})}
    )
    out = await run_against_sim(path, too_large, campaigner=HEARTBEATS)
    before, during, after = by_period(out.sim)
    assert (before, during, after) == ({MUMBAI, BANGALORE}, {BANGALORE}, {MUMBAI, BANGALORE})
    checks = [r for r in out.sim.requests if r.kind == "v2.exophone"]
    assert not [r for r in checks if r.status != 200]  # throttled below Exotel's own limit
    heartbeats = out.sim.stats().delivery.heartbeats_delivered
    assert len(checks) <= 2 * heartbeats + 2


async def test_a_recent_journaled_heartbeat_spares_the_v2_checks(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = campaign(tmp_path, [MUMBAI, BANGALORE])
    quiet = Scenario.model_validate(
        {
            "outcome_mix": {"completed": 1},
            "heartbeat": {"url": f"{SANDBOX_CALLBACKS}/heartbeat/{TOKEN}", "interval": 60},
        }
    )
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, quiet)
        await host.run(path, campaigner=HEARTBEATS)
        first = host.sim.stats().counters.get(("GET", "v2.exophone", 200), 0)
        (tmp_path / ".campaigner" / "health.sqlite3").unlink()  # run the campaign afresh
        await host.run(path, campaigner=HEARTBEATS)
        second = host.sim.stats().counters.get(("GET", "v2.exophone", 200), 0) - first
        await trio.sleep(10 * 60)  # heartbeats stop reaching anyone; the last grows old
        (tmp_path / ".campaigner" / "health.sqlite3").unlink()
        await host.run(path, campaigner=HEARTBEATS.model_copy(update={"heartbeat_token": None}))
        third = host.sim.stats().counters.get(("GET", "v2.exophone", 200), 0) - first - second
        nursery.cancel_scope.cancel()
    # First run: no heartbeat journaled yet when it starts, so v2 details for both.
    assert (first, second, third) == (2, 0, 2)


async def test_repeated_and_older_heartbeats_change_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = campaign(tmp_path, [MUMBAI, BANGALORE])
    loaded = load_campaign(path)
    clock = TrioWallClock(MONDAY_10AM)
    sandbox = Sandbox(Scenario.model_validate({"outcome_mix": {"completed": 1}}), clock)
    answers: list[int] = []

    def beat(at: float, status: str, outgoing: list[str] | None) -> dict[str, Any]:
        stamp = (MONDAY_10AM + timedelta(seconds=at)).astimezone(UTC).isoformat()
        data = {sid: {"phone_number": MUMBAI} for sid in outgoing or []}
        return {"timestamp": stamp, "status_type": status, "outgoing_affected": outgoing,
                "incoming_affected": None, "data": data}  # fmt: skip

    async def post(app: CallbackReceiver) -> None:
        plan = [
            (30, beat(30, "OK", None)),
            (60, beat(60, "WARNING", ["02241499102"])),
            (61, beat(60, "WARNING", ["02241499102"])),  # Exotel's retry: the same timestamp
            (62, beat(45, "OK", None)),  # late and older: ignored
            (400, beat(400, "OK", None)),
        ]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            for at, body in plan:
                await trio.sleep_until(start + at)
                answer = await client.post(f"{SANDBOX_CALLBACKS}/heartbeat/{TOKEN}", json=body)
                answers.append(answer.status_code)

    async def services(nursery: trio.Nursery, app: CallbackReceiver) -> None:
        await sandbox.start(nursery, app)
        nursery.start_soon(post, app)

    start = trio.current_time()
    options = RunOptions(
        settings=sandbox.settings,
        campaigner=HEARTBEATS,
        transport=sandbox.transport,
        serve_callbacks=False,
        public_url=SANDBOX_CALLBACKS,
        extra_services=services,
        handle_signals=False,
    )
    await run_campaign(loaded, options, clock=clock, report=lambda _: None)
    assert answers == [200] * 5  # every delivery acknowledged, repeats included
    sim = sandbox.simulator
    assert sim is not None
    used = {c.caller_id for c in sim.calls() if 61 < c.created_at - sim.start < 400}
    assert used == {BANGALORE}
    kinds = [(k, d.get("exophone")) for k, d in events(loaded.journal_path) if k != "heartbeat"]
    assert kinds == [("caller_id_down", "02241499102"), ("caller_id_up", "02241499102")]
    with SharedState.open(loaded.state_dir) as shared:
        rows = shared.conn.execute(
            "SELECT status_type, repeats FROM heartbeats ORDER BY timestamp"
        ).fetchall()
    assert [tuple(r) for r in rows] == [("OK", 0), ("OK", 0), ("WARNING", 1), ("OK", 0)]


async def test_heartbeats_without_the_secret_are_refused(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = campaign(tmp_path, [MUMBAI, BANGALORE])
    out = await run_against_sim(path, outage_scenario())  # no CAMPAIGNER_HEARTBEAT_TOKEN
    delivery = out.sim.stats().delivery
    assert delivery.heartbeats_sent > 0
    assert delivery.heartbeats_delivered == 0
    assert not [k for k, _ in events(out.journal_path) if k == "heartbeat"]


async def test_many_caller_ids_do_not_hold_the_start_for_the_v2_throttle(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    numbers = [f"+91224149911{i}" for i in range(8)]
    path = campaign(tmp_path, numbers)
    scenario = Scenario.model_validate(
        {
            "outcome_mix": {"completed": 1},
            "timing": {"talk": [20, 20], "ring": [2, 2], "queue": [0, 0]},
            "exophones": [{"number": n} for n in numbers],
        }
    )
    out = await run_against_sim(path, scenario)
    start = out.sim.start
    checks = [r.time - start for r in out.sim.requests if r.kind == "v2.exophone"]
    assert len(checks) == 8
    assert checks[5] < 3  # six at once...
    assert checks[6] >= 60  # ...the rest after a minute
    calls = out.sim.calls()
    assert min(c.created_at for c in calls) - start < 3  # dialing did not wait for them
    late = {numbers[6], numbers[7]}  # the last two SIDs in order: checked a minute later
    early_ids = {c.caller_id for c in calls if c.created_at - start < checks[6]}
    assert early_ids == set(numbers) - late
    assert {c.caller_id for c in calls} == set(numbers)


async def test_progress_shows_the_switch(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: dict[float, str] = {}

    async def watch(ctx: RunContext) -> None:
        progress = Progress(ctx)
        for at in (200.0, 600.0, 1000.0):
            await trio.sleep_until(started + at)
            seen[at] = progress.snapshot().line()

    started = trio.current_time()
    path = campaign(tmp_path, [MUMBAI], failover=True)
    await run_against_sim(path, outage_scenario(), campaigner=HEARTBEATS, progress=watch)
    note = f"[caller IDs: 1 of 1 usable; {MUMBAI} down (calls via {BANGALORE})]"
    assert note not in seen[200.0]
    assert note in seen[600.0]
    assert note not in seen[1000.0]
    assert "DND" not in seen[600.0]  # dnd: call: nothing to show about screening


async def test_heartbeats_larger_than_a_callback_may_be_are_read() -> None:
    beats: list[Heartbeat] = []
    app = CallbackReceiver("run-token", lambda obs: None, heartbeat_token=TOKEN,
                           on_heartbeat=beats.append)  # fmt: skip
    many = {f"0{8000000000 + i}": {"phone_number": f"+91{8000000000 + i}"} for i in range(5000)}
    body = {
        "timestamp": "2026-11-23T04:30:00Z",
        "status_type": "WARNING",
        "outgoing_affected": sorted(many),
        "data": many,
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        answer = await client.post(f"http://r/exotel/heartbeat/{TOKEN}", json=body)
        assert answer.status_code == 200
        assert len(beats[0].outgoing_affected) == 5000
        assert len(answer.request.content) > MAX_BODY  # a callback this large gets 413
        refused = await client.post("http://r/exotel/heartbeat/wrong-secret", json=body)
        assert refused.status_code == 403


async def test_without_heartbeats_health_is_checked_again_every_hour(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    numbers = [f"+9195{i:08d}" for i in range(1, 301)]
    text = CAMPAIGN.format(
        caller_ids=json.dumps([MUMBAI, BANGALORE]), contacts=numbers, failover="false"
    )
    path = write_campaign(tmp_path, text)
    timeline = [{"at": 1000, "exophone": "02241499102", "outgoing": "major_outage"}]
    scenario = Scenario.model_validate(
        {
            "outcome_mix": {"completed": 1},
            "timing": {"talk": [60, 60], "ring": [2, 2], "queue": [0, 0]},
            "heartbeat": {"timeline": timeline},
        }
    )
    out = await run_against_sim(path, scenario)
    start = out.sim.start
    checks = [r.time - start for r in out.sim.requests if r.kind == "v2.exophone"]
    assert [round(t / 60) for t in checks[:4]] == [0, 0, 60, 60]  # everyone, hourly (minutes)
    later = [b - a for a, b in zip(checks[3:], checks[4:], strict=False)]
    assert later  # then the one that is down, every 15 minutes
    assert all(900 <= gap < 902 for gap in later)
    used_after = {c.caller_id for c in out.sim.calls() if c.created_at - start > 3601}
    assert used_after == {BANGALORE}
    # Between the outage and the hourly check, calls through it could not be placed.
    failed = [c for c in out.sim.calls() if c.kind == "from_leg_no_dial"]
    assert failed
    assert all(1000 <= c.created_at - start <= 3601 for c in failed)
