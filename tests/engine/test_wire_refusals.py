"""What a connect's answer proves, end to end against the simulator, in virtual time.

Only Exotel's own refusals prove that no call was made; a proxy's 408 or 499 after it
forwarded the POST proves nothing, so the call must be reconciled (and adopted), never
counted as "not created" and dialed again. And a refusal about the agent's device is the
agent's problem: the contact waits for another agent without spending an attempt.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio.testing

from campaigner.simulator import Scenario
from tests.engine.harness import run_against_sim, write_campaign
from tests.engine.test_faults import run_faulty


async def test_proxy_timeout_after_forwarding_is_reconciled_never_redialed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    out = await run_faulty(tmp_path, {"connect_proxy_timeout": 0.3})
    made = [c for c in out.sim.calls() if c.created_on_5xx]
    assert made
    journal = out.journal()
    adopted = journal.conn.execute(
        "SELECT error_status FROM calls WHERE adopted = 1 ORDER BY id"
    ).fetchall()
    assert len(adopted) == len(made)
    assert {row[0] for row in adopted} <= {408, 499}
    failed = journal.conn.execute(
        "SELECT count(*) FROM calls WHERE error_status IN (408, 499) AND state = 'not_placed'"
    ).fetchone()[0]
    assert failed == 0


@pytest.mark.parametrize(
    ("device", "code"),
    [("off", "10703"), ("unknown_user", "10731"), ("unverified", "10705"), ("unavailable", "1012")],
)
async def test_agent_device_refusals_rest_the_agent_not_the_contact(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, device: str, code: str
) -> None:
    path = write_campaign(
        tmp_path,
        """
        name: device-off
        api: v3
        caller_ids: ["+912241499102"]
        dial:
          mode: agent_first
          agents: ["+919900000001", "+919900000002"]
        contacts: {inline: ["+919700000001", "+919700000002", "+919700000003"]}
        retry: {max_attempts: 1}
        """,
    )
    scenario = Scenario.model_validate(
        {"agents": {"+919900000001": {"device": device}}, "outcome_mix": {"completed": 1}}
    )
    out = await run_against_sim(path, scenario)
    journal = out.journal()
    refused = journal.conn.execute(
        "SELECT count(*) FROM calls WHERE error_code = ? AND agent = '+919900000001'", (code,)
    ).fetchone()[0]
    assert refused >= 1
    rows = journal.conn.execute("SELECT outcome, attempts FROM contacts").fetchall()
    assert [tuple(r) for r in rows] == [("connected", 1)] * 3  # no attempt spent on refusals
    assert {c.from_number for c in out.sim.calls()} == {"+919900000002"}
    notes = journal.conn.execute(
        "SELECT count(*) FROM run_log WHERE kind = 'agent_unavailable'"
    ).fetchone()[0]
    assert notes == 1  # once per agent and code, however often it is refused
