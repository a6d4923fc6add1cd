"""Regression found by the soak: an agent whose own number is on India's NDNC registry.

Exotel checks both legs of a connect and its 403 names the number refused ("Call to
[<number>] cannot be made because of TRAI NDNC regulations"). The engine used to take
every such refusal as the contact's: each contact given to that agent was skipped as
DND and its number cached as DND for every campaign of the state directory.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import trio.testing

from campaigner.simulator import Scenario
from tests.engine.harness import run_against_sim, write_campaign
from tests.engine.truth import check_truth

DND_AGENT, OTHER_AGENT = "+919900000001", "+919900000002"
DND_CONTACT = "+919700000003"
CONTACTS = [f"+91970000000{i}" for i in range(1, 10)]

CAMPAIGN = f"""
name: ndnc
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["{DND_AGENT}", "{OTHER_AGENT}"]}}
contacts: {{inline: {CONTACTS}}}
retry: {{max_attempts: 1}}
screening: {{dnd: call}}
"""


async def test_an_agent_on_the_registry_does_not_make_contacts_dnd(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    scenario = Scenario.model_validate(
        {
            "seed": 4,
            "numbers": {DND_AGENT: {"dnd": True}, DND_CONTACT: {"dnd": True}},
            "outcome_mix": {"completed": 1},
        }
    )
    out = await run_against_sim(write_campaign(tmp_path, CAMPAIGN), scenario)
    journal = out.journal()
    outcomes = dict(journal.conn.execute("SELECT phone, outcome || ' ' || reason FROM contacts"))
    assert outcomes == {
        phone: "skipped dnd" if phone == DND_CONTACT else "connected both legs completed"
        for phone in CONTACTS
    }
    assert {c.from_number for c in out.sim.calls()} == {OTHER_AGENT}
    check_truth(journal, out.sim, recording=False)
    events = journal.conn.execute("SELECT message FROM run_log WHERE kind = 'agent_ndnc'")
    assert [e[0] for e in events] == [
        f"agent {DND_AGENT} is on the NDNC registry: Exotel refuses to call them; "
        "their contacts wait for other agents"
    ]
    shared = sqlite3.connect(tmp_path / ".campaigner" / "shared.sqlite3")
    cached = {r[0] for r in shared.execute("SELECT phone FROM numbers WHERE dnd = 1")}
    assert cached == {DND_AGENT, DND_CONTACT}
