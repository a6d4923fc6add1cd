"""Stopping a run at any instant and running it again loses nothing and dials nobody twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from campaigner.simulator import Scenario
from campaigner.store.journal import Journal
from tests.engine.harness import sim_host, write_campaign
from tests.engine.invariants import check_invariants

CAMPAIGN = """
name: resume
api: {api}
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: agent_first
  agents: ["+919900000001", "+919900000002", "+919900000003"]
contacts: {{inline: {contacts}}}
retry: {{max_attempts: 2, on: [busy, no_answer], backoff: {{first: 3m}}}}
tracking: {{poll_after: 1m, poll_interval: 30s, give_up_after: 2h}}
"""


def numbers(start: int, n: int) -> list[str]:
    return [f"+9196{i:08d}" for i in range(start, start + n)]


@pytest.mark.parametrize("api", ["v1", "v3"])
@pytest.mark.parametrize("stops", [(7.0,), (31.5, 95.0), (0.4, 0.8, 60.0, 240.0)])
async def test_stop_anywhere_and_resume(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, api: str, stops: tuple[float, ...]
) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(api=api, contacts=numbers(1, 25)))
    scenario = Scenario.model_validate(
        {
            "seed": 11,
            "faults": {"callback_drop": 0.2, "connect_ambiguous": 0.1, "ambiguous_hold": 0},
        }
    )
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, scenario)
        for stop in stops:
            assert await host.run(path, stop_after=stop) is None
            with Journal.read(tmp_path / ".campaigner" / "resume.sqlite3") as journal:
                check_invariants(
                    journal, host.sim, max_calls=2 + 3, complete=False, recording=False
                )
        result = await host.run(path)
        assert result is not None
        assert result.reason == "complete"
        assert result.preparation.resumed
        with Journal.read(tmp_path / ".campaigner" / "resume.sqlite3") as journal:
            check_invariants(journal, host.sim, max_calls=2 + 3, recording=False)
        nursery.cancel_scope.cancel()


async def test_an_edited_file_resumes_with_its_changes(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    first = numbers(1, 30)
    path = write_campaign(tmp_path, CAMPAIGN.format(api="v1", contacts=first))
    scenario = Scenario.model_validate({"seed": 5, "outcome_mix": {"completed": 1}})
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, scenario)
        await host.run(path, stop_after=20.0)
        with Journal.read(tmp_path / ".campaigner" / "resume.sqlite3") as journal:
            never_called = [
                r[0]
                for r in journal.conn.execute(
                    "SELECT phone FROM contacts WHERE attempts = 0 AND state = 'ready' ORDER BY seq"
                )
            ]
        assert len(never_called) > 5
        removed = never_called[-3:]
        added = numbers(100, 4)
        kept = [n for n in first if n not in removed]
        write_campaign(
            tmp_path,
            CAMPAIGN.format(api="v1", contacts=kept + added).replace(
                "max_attempts: 2", "max_attempts: 3"
            ),
        )
        result = await host.run(path)
        assert result is not None
        prep = result.preparation
        assert (prep.resumed, prep.file_changed, prep.added, prep.removed) == (True, True, 4, 3)
        assert prep.changed_sections == ["retry"]
        called = {c.to_number for c in host.sim.calls()}
        assert not called & set(removed)
        assert set(added) <= called
        with Journal.read(tmp_path / ".campaigner" / "resume.sqlite3") as journal:
            rows = dict(journal.conn.execute("SELECT phone, reason FROM contacts").fetchall())
            assert {rows[n] for n in removed} == {"removed"}
            check_invariants(journal, host.sim, max_calls=3 + 3, recording=False)
        nursery.cancel_scope.cancel()


async def test_a_contact_removed_while_its_call_was_in_flight_is_never_retried(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    first = numbers(1, 6)
    path = write_campaign(tmp_path, CAMPAIGN.format(api="v1", contacts=first))
    # Every contact is busy: each would earn a retry.
    scenario = Scenario.model_validate(
        {
            "seed": 9,
            "outcome_mix": {"completed": 1},
            "numbers": {n: {"outcome": "busy"} for n in first},
        }
    )
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, scenario)
        await host.run(path, stop_after=2.0)  # stopped with calls in flight
        with Journal.read(tmp_path / ".campaigner" / "resume.sqlite3") as journal:
            in_flight = [
                r[0]
                for r in journal.conn.execute("SELECT phone FROM contacts WHERE state = 'active'")
            ]
        assert in_flight
        removed = in_flight[0]
        write_campaign(
            tmp_path, CAMPAIGN.format(api="v1", contacts=[n for n in first if n != removed])
        )
        result = await host.run(path)
        assert result is not None
        assert result.reason == "complete"
        assert [c.to_number for c in host.sim.calls()].count(removed) == 1
        with Journal.read(tmp_path / ".campaigner" / "resume.sqlite3") as journal:
            row = journal.conn.execute(
                "SELECT state, outcome, reason FROM contacts WHERE phone = ?", (removed,)
            ).fetchone()
            assert tuple(row) == ("done", "busy", "removed")
            check_invariants(journal, host.sim, max_calls=2 + 3, recording=False)
        nursery.cancel_scope.cancel()
