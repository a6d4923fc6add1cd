"""A connect answered with a SID the journal already holds is an anomaly, not a crash.

Exotel's SIDs are unique; a simulator restarted with the same SID stream was not (every
sandbox run used to replay the first run's SIDs, and the resumed run died on
``UNIQUE constraint failed: calls.sid``). Forcing the same stream twice here, the second
run must journal the anomaly, treat the answer as if it were lost (reconciliation, never a
guess), and still bring every contact to an outcome.
"""

from __future__ import annotations

from pathlib import Path

import trio.testing

from campaigner.simulator import Scenario
from tests.engine.harness import run_against_sim, write_campaign

CAMPAIGN = """
name: repeated-sids
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001", "+919900000002"]}}
contacts: {{inline: {contacts}}}
retry: {{max_attempts: 1}}
tracking: {{poll_after: 2m, poll_interval: 1m, give_up_after: 1h}}
"""
SCENARIO = Scenario.model_validate({"seed": 5, "outcome_mix": {"completed": 1}})


def _numbers(n: int) -> list[str]:
    return [f"+9197{i:08d}" for i in range(1, n + 1)]


async def test_a_sid_already_journaled_is_an_anomaly_handled_like_a_lost_answer(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(contacts=_numbers(3)))
    first = await run_against_sim(path, SCENARIO, sid_nonce="replayed")
    assert first.result.exit_code == 0
    first_sids = {c.sid for c in first.sim.calls()}

    path = write_campaign(tmp_path, CAMPAIGN.format(contacts=_numbers(6)))  # three new
    second = await run_against_sim(path, SCENARIO, sid_nonce="replayed")
    assert second.result.exit_code == 0, second.messages
    replayed = [c for c in second.sim.calls() if c.sid in first_sids]
    assert len(replayed) == 3  # the new simulator handed out the first run's SIDs again

    journal = second.journal()
    notes = journal.conn.execute("SELECT data FROM run_log WHERE kind = 'sid_taken'").fetchall()
    assert len(notes) == len(replayed)
    # Reconciliation cannot adopt a call by a SID another call holds: once the call could
    # no longer be running, the contact is dialed again, without spending an attempt.
    absent = journal.conn.execute(
        "SELECT count(*) FROM calls WHERE sid IS NULL AND state = 'not_placed' "
        "AND error_message LIKE 'answer lost%'"
    ).fetchone()[0]
    assert absent == len(replayed)
    rows = journal.conn.execute("SELECT phone, outcome FROM contacts ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [(n, "connected") for n in _numbers(6)]
