"""Polling tells the truth: runs without callbacks, or losing some, record what really
happened, call by call (outcome and talk time, judged by tests/engine/truth.py).

The simulator keeps its default of showing an unfinished v1 record as ``completed``
(epoch-zero ``EndTime``) for two minutes after every call, whatever happened: a poller
that finalised from it would record busy and failed calls as connected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from campaigner.campaign.resolved import ResolvedAgent
from campaigner.engine.open_calls import AgentPool
from campaigner.simulator import Scenario
from tests.engine.harness import Outcome, run_against_sim, write_campaign
from tests.engine.invariants import check_invariants
from tests.engine.truth import check_truth

AGENTS = ["+919900000001", "+919900000002", "+919900000003", "+919900000004"]

CAMPAIGN = """
name: polling-truth
api: {api}
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: {mode}
  agents: {agents}
contacts:
  inline: {contacts}
retry: {{max_attempts: 2, on: [busy, no_answer, failed], backoff: {{first: 2m}}}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: 4}}
tracking: {{poll_after: {poll_after}, poll_interval: 1m, give_up_after: {give_up}}}
"""

# Every kind of call the simulator can play, in even shares.
EVERY_KIND = {
    "completed": 1.0,
    "busy": 1.0,
    "no_answer": 1.0,
    "failed": 1.0,
    "agent_unanswered": 1.0,
    "agent_hangup": 1.0,
}


def contacts(n: int) -> list[str]:
    return [f"+9197{i:08d}" for i in range(1, n + 1)]


async def run(
    tmp_path: Path,
    *,
    api: str,
    mode: str,
    callbacks: bool,
    faults: dict[str, Any] | None = None,
    n: int = 24,
    poll_after: str = "2m",
    give_up: str = "2h",
    seed: int = 5,
) -> Outcome:
    text = CAMPAIGN.format(
        api=api,
        mode=mode,
        agents=AGENTS,
        contacts=contacts(n),
        poll_after=poll_after,
        give_up=give_up,
    )
    path = write_campaign(tmp_path, text)
    scenario = Scenario.model_validate(
        {
            "seed": seed,
            "outcome_mix": EVERY_KIND,
            "faults": faults or {},
            "agents": {agent: {} for agent in AGENTS},
        }
    )
    return await run_against_sim(path, scenario, callbacks=callbacks)


@pytest.mark.parametrize("api", ["v1", "v3"])
@pytest.mark.parametrize("mode", ["agent_first", "contact_first"])
@pytest.mark.parametrize(
    ("callbacks", "faults"),
    [(False, {}), (True, {"callback_drop": 0.3})],
    ids=["polling-only", "30%-lost"],
)
async def test_polled_calls_record_what_really_happened(
    tmp_path: Path,
    autojump_clock: trio.testing.MockClock,
    api: str,
    mode: str,
    callbacks: bool,
    faults: dict[str, Any],
) -> None:
    out = await run(tmp_path, api=api, mode=mode, callbacks=callbacks, faults=faults)
    assert out.result.reason == "complete"
    journal = out.journal()
    check_invariants(journal, out.sim, mode=mode, max_calls=2 + 3)
    verdict = check_truth(journal, out.sim, mode=mode)
    # The run saw every kind of call, and polling decided some of them.
    truths = {true for true, _ in verdict.outcomes}
    assert {"connected", "agent_unanswered"} <= truths
    assert len(truths) >= 4
    by = dict(journal.conn.execute("SELECT resolved_by, count(*) FROM calls GROUP BY 1"))
    assert by.get("poll", 0) > 0
    if not callbacks:
        assert set(by) == {"poll"}


async def test_an_unfinished_record_is_never_final(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """A busy contact, polled while Exotel still shows ``completed``: recorded busy, with
    the call's own details read after the record was finished."""
    out = await run(tmp_path, api="v1", mode="agent_first", callbacks=False, n=1, seed=1)
    journal = out.journal()
    check_truth(journal, out.sim, mode="agent_first")
    sid, outcome = journal.conn.execute("SELECT sid, outcome FROM calls ORDER BY id").fetchone()
    truth = out.sim.calls()[0]
    assert truth.kind != "completed"  # seed 1 plays a call that did not connect
    assert outcome != "connected"
    asked = [r for r in out.sim.requests if r.kind == "v1.call" and sid in r.path]
    assert asked  # its own details (legs) were read
    assert all(r.time >= truth.ended_at + 120 for r in asked)  # once the record was final


@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_give_up_polls_first(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, api: str
) -> None:
    """``give_up_after`` shorter than ``poll_after``: the call is polled at the give-up point
    and decided from it, not declared unknown unpolled."""
    out = await run(
        tmp_path,
        api=api,
        mode="agent_first",
        callbacks=False,
        n=6,
        poll_after="20m",
        give_up="10m",
    )
    journal = out.journal()
    outcomes = {r[0] for r in journal.conn.execute("SELECT outcome FROM calls")}
    assert "unknown" not in outcomes
    check_truth(journal, out.sim, mode="agent_first")


async def test_v3_honours_poll_after_and_frees_agents(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """v3 without callbacks: the first poll comes ``poll_after`` after the call, and an
    agent is free again as soon as the legs show the call is over, before Exotel has
    processed it (the next call to that agent is placed before the first is decided)."""
    out = await run(tmp_path, api="v3", mode="agent_first", callbacks=False, n=12)
    journal = out.journal()
    check_truth(journal, out.sim, mode="agent_first")
    polls = [r for r in out.sim.requests if r.kind in ("v3.call", "v3.legs")]
    assert polls
    for call in out.sim.calls():
        mine = [r.time for r in polls if call.sid in r.path]
        assert mine, f"{call.sid} was never polled"
        assert min(mine) - call.created_at == pytest.approx(120, abs=2)
    # An agent's next call is placed before the previous one was decided: freed early.
    calls = journal.conn.execute(
        "SELECT agent, placed_at, resolved_at FROM calls WHERE sid IS NOT NULL ORDER BY placed_at"
    ).fetchall()
    early = 0
    for i, (agent, _, resolved) in enumerate(calls):
        later = [placed for a, placed, _ in calls[i + 1 :] if a == agent]
        early += bool(later and later[0] < resolved)
    assert early > 0


@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_adopted_calls_are_not_finalised_from_an_unfinished_record(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, api: str
) -> None:
    """A call adopted by reconciliation after a lost answer, with no callbacks: the bulk
    record it was found by does not decide it."""
    out = await run(
        tmp_path,
        api=api,
        mode="agent_first",
        callbacks=False,
        faults={"connect_ambiguous": 0.4, "ambiguous_hold": 0},
    )
    journal = out.journal()
    adopted = journal.conn.execute("SELECT count(*) FROM calls WHERE adopted = 1").fetchone()[0]
    assert adopted > 0
    check_truth(journal, out.sim, mode="agent_first")


async def test_an_agent_freed_when_the_call_ended_still_rests_after_a_miss(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The agent of an ended call is given back before its outcome is known; when the
    outcome says they missed it, they rest as if it had been known at once."""
    agent = ResolvedAgent(uri="+919900000001", state_management=True)
    pool = AgentPool((agent,))
    taken = await pool.take()
    pool.release(taken.uri)  # the call ended
    pool.rest(taken.uri)  # ... and its outcome: the agent did not answer
    start = trio.current_time()
    await pool.take()
    assert trio.current_time() - start == pytest.approx(30.0)


async def test_v3_lost_callbacks_are_polled_at_poll_after_while_agents_are_awaited(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """With callbacks (so the run knows its calls' durations) but every agent busy, a call
    whose callback is lost is polled at ``poll_after``, not after the 95th percentile of
    call durations plus processing: its agent is what the next dial waits for."""
    out = await run(
        tmp_path, api="v3", mode="agent_first", callbacks=True, n=60, faults={"callback_drop": 0.3}
    )
    journal = out.journal()
    check_truth(journal, out.sim, mode="agent_first")
    polled = [
        sid for (sid,) in journal.conn.execute("SELECT sid FROM calls WHERE resolved_by = 'poll'")
    ]
    assert len(polled) >= 5
    created = {c.sid: c.created_at for c in out.sim.calls()}
    delays = sorted(
        min(r.time for r in out.sim.requests if sid in r.path) - created[sid] for sid in polled
    )
    assert delays[len(delays) // 2] <= 120 + 5  # the median lost call, within a rescan
