"""The engine against a misbehaving Exotel: every fault of issue 4, in virtual time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio.testing

from campaigner.simulator import Scenario
from tests.engine.harness import run_against_sim, write_campaign
from tests.engine.invariants import check_invariants
from tests.engine.truth import check_truth

CAMPAIGN = """
name: faults
api: {api}
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: {mode}
  agents: ["+919900000001", "+919900000002", "+919900000003", "+919900000004"]
contacts:
  inline: {contacts}
retry: {{max_attempts: 3, on: [busy, no_answer, failed], backoff: {{first: 2m}}}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: 4}}
tracking: {{poll_after: 2m, poll_interval: 1m, give_up_after: 2h}}
"""

MAX_CALLS = 3 + 3  # max_attempts + retry.agent_failures (default 3)


def contacts(n: int) -> list[str]:
    return [f"+9197{i:08d}" for i in range(1, n + 1)]


async def run_faulty(
    tmp_path: Path,
    faults: dict[str, Any],
    *,
    api: str = "v1",
    mode: str = "agent_first",
    n: int = 40,
    seed: int = 3,
    **scenario: Any,
) -> Any:
    path = write_campaign(tmp_path, CAMPAIGN.format(api=api, mode=mode, contacts=contacts(n)))
    out = await run_against_sim(
        path, Scenario.model_validate({"seed": seed, "faults": faults, **scenario})
    )
    check_invariants(out.journal(), out.sim, mode=mode, max_calls=MAX_CALLS, recording=False)
    return out


@pytest.mark.parametrize("api", ["v1", "v3"])
@pytest.mark.parametrize(
    "faults",
    [
        {"callback_drop": 0.5},
        {"callback_duplicate": 0.6},
        {"callback_reorder": 0.6},
        {"callback_delay": 0.8, "callback_delay_range": [30, 600]},
        {"early_callback": 0.5},
        {"callback_drop": 1.0},
    ],
    ids=["drop", "duplicate", "reorder", "delay", "early", "no-callbacks"],
)
async def test_callback_faults_lose_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, api: str, faults: dict[str, Any]
) -> None:
    out = await run_faulty(tmp_path, faults, api=api)
    assert out.result.reason == "complete"
    journal = out.journal()
    # Duplicates and stale events change nothing: each call ended exactly once.
    ended = journal.conn.execute("SELECT count(*) FROM calls WHERE state = 'ended'").fetchone()[0]
    assert ended == len(out.sim.calls())


async def test_lost_callbacks_are_recovered_by_polling(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    out = await run_faulty(tmp_path, {"callback_drop": 1.0})
    journal = out.journal()
    by = dict(journal.conn.execute("SELECT resolved_by, count(*) FROM calls GROUP BY 1").fetchall())
    assert by == {"poll": len(out.sim.calls())}
    assert out.result.stats.recovered_by_poll == len(out.sim.calls())


async def test_early_callbacks_are_matched_when_the_answer_arrives(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    out = await run_faulty(tmp_path, {"early_callback": 1.0})
    journal = out.journal()
    early = journal.conn.execute("SELECT count(*) FROM events WHERE effect = 'early'").fetchone()[0]
    assert early > 0
    unmatched = journal.conn.execute(
        "SELECT count(*) FROM events WHERE effect = 'unmatched'"
    ).fetchone()[0]
    assert unmatched == 0
    by = dict(journal.conn.execute("SELECT resolved_by, count(*) FROM calls GROUP BY 1").fetchall())
    assert by.get("callback", 0) > 0


@pytest.mark.parametrize("api", ["v1", "v3"])
async def test_ambiguous_posts_are_reconciled_never_redialed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, api: str
) -> None:
    out = await run_faulty(tmp_path, {"connect_ambiguous": 0.3, "ambiguous_hold": 0}, api=api)
    lost = [c for c in out.sim.calls() if c.answer_lost]
    assert lost
    journal = out.journal()
    adopted = journal.conn.execute("SELECT count(*) FROM calls WHERE adopted = 1").fetchone()[0]
    assert adopted == len(lost)


async def test_5xx_on_connect(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    out = await run_faulty(tmp_path, {"connect_5xx": 0.3, "connect_5xx_created": 0.5})
    created = [c for c in out.sim.calls() if c.created_on_5xx]
    assert created
    absent = (
        out.journal()
        .conn.execute("SELECT count(*) FROM calls WHERE state = 'not_placed' AND error_status = 0")
        .fetchone()[0]
    )
    assert absent > 0  # 5xx without a call: proven absent, then dialed again


async def test_429_storm_backs_off_and_finishes(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    bursts = [{"at": 5, "duration": 20}, {"at": 120, "duration": 30}]
    out = await run_faulty(tmp_path, {"bursts": bursts, "get_5xx": 0.2})
    throttled = [r for r in out.sim.requests if r.status == 429]
    assert throttled
    assert out.result.stats.outcomes  # finished with outcomes for everyone (checked above)


async def test_no_429_in_normal_operation(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    out = await run_faulty(tmp_path, {}, n=120, outcome_mix={"completed": 1, "busy": 1})
    assert not [r for r in out.sim.requests if r.status == 429]


async def test_agent_busy_requeues_without_spending_attempts(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write_campaign(
        tmp_path,
        """
        name: busy-agent
        api: v3
        caller_ids: ["+912241499102"]
        dial:
          mode: agent_first
          agents:
            - {contact_uri: "+919900000001", state_management: true}
            - {contact_uri: "+919900000002", state_management: true}
        contacts: {inline: ["+919700000001", "+919700000002", "+919700000003"]}
        retry: {max_attempts: 1}
        """,
    )
    scenario = Scenario.model_validate(
        {"agents": {"+919900000001": {"busy": True}}, "outcome_mix": {"completed": 1}}
    )
    out = await run_against_sim(path, scenario)
    journal = out.journal()
    check_truth(journal, out.sim, recording=False)  # and no outcome for a 10706 refusal
    refused = journal.conn.execute(
        "SELECT count(*) FROM calls WHERE error_status = 409 AND error_code = '10706'"
    ).fetchone()[0]
    assert refused >= 1
    journaled = journal.conn.execute(
        "SELECT DISTINCT code FROM requests WHERE purpose = 'connect' AND status = 409"
    ).fetchall()
    assert [tuple(r) for r in journaled] == [("10706",)]  # Exotel's code, for the report
    outcomes = dict(journal.conn.execute("SELECT phone, outcome FROM contacts").fetchall())
    assert set(outcomes.values()) == {"connected"}
    attempts = {r[0] for r in journal.conn.execute("SELECT attempts FROM contacts")}
    assert attempts == {1}


async def test_dnd_refusal_skips_without_retry(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    numbers = contacts(5)
    out = await run_faulty(tmp_path, {}, n=5, numbers={numbers[0]: {"dnd": True}})
    row = (
        out.journal()
        .conn.execute(
            "SELECT outcome, reason, attempts FROM contacts WHERE phone = ?", (numbers[0],)
        )
        .fetchone()
    )
    assert tuple(row) == ("skipped", "dnd", 0)
    assert all(c.to_number != numbers[0] for c in out.sim.calls())


@pytest.mark.parametrize("mode", ["contact_first"])
async def test_contact_first_mode(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, mode: str
) -> None:
    out = await run_faulty(tmp_path, {"callback_drop": 0.3}, mode=mode)
    assert out.result.reason == "complete"
