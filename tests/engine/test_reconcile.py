"""Lost connect answers: reconciled in batches, never a second live call to anyone.

Runs the engine against the in-process simulator in virtual time. The simulator records
every call it created, with times, so "no contact ever had two overlapping calls" is
checked against what really happened (tests/engine/invariants.py), not against the
journal the engine wrote.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio.testing

from campaigner.campaign.loader import load_campaign
from campaigner.campaign.rules import lost_answer_span
from campaigner.simulator import Scenario
from tests.engine.harness import Outcome, run_against_sim, write_campaign
from tests.engine.invariants import check_invariants
from tests.engine.test_faults import contacts

CAMPAIGN = """
name: reconcile
api: v1
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: {mode}
  agents: ["+919900000001", "+919900000002", "+919900000003", "+919900000004"]
contacts:
  inline: {contacts}
call: {{time_limit: {time_limit}, ring_timeout: 30}}
retry: {{max_attempts: 2, on: [busy, no_answer], backoff: {{first: 1m}}}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: 4}}
tracking: {{poll_after: 1m, poll_interval: 30s, give_up_after: {give_up}}}
{extra}"""
MAX_CALLS = 2 + 3  # max_attempts + retry.agent_failures (default 3)


async def run(
    tmp_path: Path,
    scenario: dict[str, Any],
    *,
    n: int = 30,
    mode: str = "agent_first",
    time_limit: int = 600,
    give_up: str = "2h",
    callbacks: bool = True,
    invariants: bool = True,
    extra: str = "",
) -> tuple[Outcome, float]:
    text = CAMPAIGN.format(
        mode=mode, contacts=contacts(n), time_limit=time_limit, give_up=give_up, extra=extra
    )
    path = write_campaign(tmp_path, text)
    span = lost_answer_span(load_campaign(path).campaign).total_seconds()
    out = await run_against_sim(path, Scenario.model_validate(scenario), callbacks=callbacks)
    if invariants:
        check_invariants(out.journal(), out.sim, mode=mode, max_calls=MAX_CALLS)
    return out, span


def rows(out: Outcome, sql: str) -> list[sqlite3.Row]:
    return list(out.journal().conn.execute(sql).fetchall())


def lost_calls(out: Outcome) -> list[Any]:
    """Calls the simulator created although the engine never got their answer."""
    return [c for c in out.sim.calls() if c.answer_lost or c.created_on_5xx]


def assert_every_lost_call_adopted(out: Outcome) -> None:
    adopted = {str(r[0]) for r in rows(out, "SELECT sid FROM calls WHERE adopted = 1")}
    lost = {c.sid for c in lost_calls(out)}
    assert lost, "the scenario lost no answer: the test proves nothing"
    assert adopted == lost


def assert_absent_redialed_after_span(out: Outcome, span: float) -> int:
    """A contact whose lost POST created no call is dialed again only after the span."""
    absent = rows(
        out,
        "SELECT contact_id, intent_at, resolved_at FROM calls "
        "WHERE state = 'not_placed' AND error_status = 0",
    )
    for contact_id, intent_at, resolved_at in absent:
        assert resolved_at - intent_at >= span
        later = rows(
            out,
            f"SELECT min(intent_at) FROM calls WHERE contact_id = {contact_id} "
            f"AND intent_at > {intent_at}",
        )[0][0]
        assert later is None or later - intent_at >= span
    return len(absent)


@pytest.mark.parametrize("callbacks", [True, False], ids=["callbacks", "polling-only"])
@pytest.mark.parametrize("mode", ["agent_first", "contact_first"])
async def test_long_calls_with_a_short_give_up_are_never_dialed_twice(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, callbacks: bool, mode: str
) -> None:
    # 420 s conversations, give_up_after 75 s: the old span (capped at give_up_after)
    # proved such calls absent while they were live and dialed their contacts again.
    scenario = {
        "seed": 11,
        "timing": {"talk": [420, 420]},
        "outcome_mix": {"completed": 1},
        "faults": {
            "connect_ambiguous": 0.25,
            "ambiguous_hold": 0,
            "connect_5xx": 0.2,
            "connect_5xx_created": 0.5,
        },
    }
    out, span = await run(tmp_path, scenario, n=20, mode=mode, give_up="75s", callbacks=callbacks)
    assert out.result.reason == "complete"
    assert_every_lost_call_adopted(out)  # invariants above: no two calls overlapped
    assert assert_absent_redialed_after_span(out, span) > 0


@pytest.mark.parametrize("callbacks", [True, False], ids=["callbacks", "polling-only"])
async def test_found_calls_are_adopted_with_their_true_outcome(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, callbacks: bool
) -> None:
    scenario = {
        "seed": 5,
        "outcome_mix": {"completed": 1, "busy": 1},
        "timing": {"record_finalize_delay": 0},
        "faults": {"connect_ambiguous": 0.3, "ambiguous_hold": 0},
    }
    out, _ = await run(tmp_path, scenario, callbacks=callbacks)
    assert_every_lost_call_adopted(out)
    truth = {c.sid: c.kind for c in lost_calls(out)}
    expected = {"completed": "connected", "busy": "busy"}
    recorded = dict(rows(out, "SELECT sid, outcome FROM calls WHERE adopted = 1"))
    assert recorded == {sid: expected[kind] for sid, kind in truth.items()}


async def test_a_record_still_being_finished_is_adopted_not_judged(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # Polling only, and every listed record unfinished for 2 min with a placeholder
    # "completed": adoption must not take these busy calls for connected ones.
    scenario = {
        "seed": 5,
        "outcome_mix": {"busy": 1},
        "faults": {"connect_ambiguous": 0.4, "ambiguous_hold": 0, "pending_status": "completed"},
    }
    out, _ = await run(tmp_path, scenario, n=10, callbacks=False)
    assert_every_lost_call_adopted(out)
    unfinished = rows(
        out,
        "SELECT count(DISTINCT c.id) FROM events e JOIN calls c ON c.id = e.call_id "
        "WHERE c.adopted = 1 AND e.source = 'bulk' AND e.effect = 'pending' "
        "AND e.at = c.placed_at",
    )[0][0]
    assert unfinished > 0  # some were found while their record was unfinished
    outcomes = {r[0] for r in rows(out, "SELECT outcome FROM calls WHERE adopted = 1")}
    assert outcomes == {"busy"}


async def test_a_call_list_that_cannot_be_read_ends_unknown_never_redialed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # Every GET fails: lost answers can be neither found nor proven absent.
    scenario = {
        "seed": 2,
        "outcome_mix": {"completed": 1},
        "faults": {"connect_ambiguous": 0.3, "ambiguous_hold": 0, "get_5xx": 1.0},
    }
    # (Not the invariants: the calls those lost answers created stay unknown to the journal.)
    # No DND lookups: they are GETs too, and a run cannot dial without them.
    out, span = await run(
        tmp_path, scenario, n=10, invariants=False, extra="screening: {dnd: call}\n"
    )
    ambiguous = rows(
        out,
        "SELECT c.contact_id, c.outcome, c.resolved_by, c.resolved_at - c.intent_at "
        "FROM calls c WHERE c.sid IS NULL AND c.state = 'ended'",
    )
    assert ambiguous
    for contact_id, outcome, resolved_by, after in ambiguous:
        assert (outcome, resolved_by) == ("unknown", "give_up")
        assert after >= span
        count = rows(out, f"SELECT count(*) FROM calls WHERE contact_id = {contact_id}")[0][0]
        assert count == 1
        phone = rows(out, f"SELECT phone FROM contacts WHERE id = {contact_id}")[0][0]
        assert len([c for c in out.sim.calls() if c.to_number == phone]) == 1


async def test_cost_and_settling_time_of_lost_answers(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """The issue's measurement: 40 contacts, 25% of answers lost, 10% 5xx on connect."""
    scenario = {
        "seed": 7,
        "faults": {
            "connect_ambiguous": 0.25,
            "ambiguous_hold": 0,
            "connect_5xx": 0.1,
            "get_5xx": 0.1,
        },
    }
    out, span = await run(tmp_path, scenario, n=40)
    lost = out.result.stats.ambiguous
    requests = rows(out, "SELECT count(*) FROM requests WHERE purpose = 'reconcile'")[0][0]
    assert lost >= 10
    assert requests <= 3 * lost
    # Settled no later than the span allows: found calls when listed after they ended,
    # absent ones by the first listing at the span (one retry later if it failed).
    settled = rows(
        out,
        "SELECT adopted, coalesce(CASE WHEN adopted = 1 THEN placed_at END, resolved_at) "
        "- intent_at FROM calls WHERE adopted = 1 OR (state = 'not_placed' AND error_status = 0)",
    )
    assert len(settled) == lost
    assert max(after for _, after in settled) <= span + 2 * 30
    found = [after for adopted, after in settled if adopted]
    print(
        f"\nreconcile: {lost} lost answers, {requests} listing requests "
        f"({requests / lost:.2f} each); found {len(found)} in at most {max(found):.0f}s "
        f"(median {sorted(found)[len(found) // 2]:.0f}s); {len(settled) - len(found)} proven "
        f"absent at {span:.0f}s"
    )
