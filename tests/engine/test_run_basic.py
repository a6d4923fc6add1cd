from __future__ import annotations

from pathlib import Path

import trio.testing

from campaigner.simulator import Scenario
from tests.engine.harness import run_against_sim, write_campaign
from tests.engine.truth import check_truth

AGENT_FIRST = """
name: basic
api: {api}
caller_ids: ["+912241499102"]
dial:
  mode: agent_first
  agents: ["+919900000001", "+919900000002"]
contacts:
  inline: {contacts}
retry: {{max_attempts: 2, on: [busy, no_answer], backoff: {{first: 5m}}}}
schedule:
  windows: [{{start: "09:00", end: "21:00"}}]
"""


def numbers(n: int) -> list[str]:
    return [f"+9198765{43000 + i:05d}" for i in range(n)]


async def test_every_contact_reaches_an_outcome(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    contacts = numbers(12)
    path = write_campaign(tmp_path, AGENT_FIRST.format(api="v1", contacts=contacts))
    scenario = Scenario.model_validate(
        {
            "seed": 7,
            "numbers": {
                contacts[0]: {"outcome": "busy"},
                contacts[1]: {"outcome": "no_answer"},
                contacts[2]: {"outcome": "completed"},
            },
        }
    )
    out = await run_against_sim(path, scenario)
    assert out.result.reason == "complete"
    journal = out.journal()
    counts = journal.counts()
    assert sum(counts.values()) == 12
    assert "ready" not in counts
    assert "active" not in counts
    rows = {r["phone"]: r for r in journal.conn.execute("SELECT * FROM contacts")}
    assert rows[contacts[0]]["outcome"] == "busy"
    assert rows[contacts[0]]["attempts"] == 2
    assert rows[contacts[2]]["outcome"] == "connected"
    # every call the simulator placed is in the journal, once
    sids = {r["sid"] for r in journal.conn.execute("SELECT sid FROM calls WHERE sid IS NOT NULL")}
    assert {c.sid for c in out.sim.calls()} == sids
    # ... and each with what really happened on its legs, talk time and recording
    verdict = check_truth(journal, out.sim, recording=False)
    assert verdict.checked == len(sids)
