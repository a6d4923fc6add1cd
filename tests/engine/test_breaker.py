"""The failure circuit breaker: pause (exit 6) before burning the contact list; resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing

from campaigner.campaign.model import CircuitBreaker as BreakerConfig
from campaigner.domain import Outcome
from campaigner.engine.breaker import CircuitBreaker, Trip
from campaigner.errors import EXIT_OK, EXIT_PAUSED
from campaigner.simulator import Scenario
from campaigner.store.journal import Journal
from tests.engine.harness import sim_host, write_campaign
from tests.engine.invariants import check_invariants

F, S = Outcome.FAILED, Outcome.CONNECTED


def feed(breaker: CircuitBreaker, outcomes: list[Outcome]) -> list[int]:
    """The (1-based) positions at which the breaker tripped."""
    return [i for i, o in enumerate(outcomes, 1) if breaker.record(o) is not None]


def test_trips_once_when_the_full_window_is_mostly_failed() -> None:
    breaker = CircuitBreaker(BreakerConfig(window=5, failed_ratio=0.5))
    assert feed(breaker, [F, F, F, F]) == []  # the window is not full yet
    assert feed(breaker, [S]) == [1]  # 4 of 5 failed
    assert breaker.tripped == Trip(failed=4, window=5, ratio=0.5)
    assert feed(breaker, [F, F, F]) == []  # once
    assert breaker.tripped.message() == (
        "circuit breaker: 4 of the last 5 calls failed (80%, more than 50%)"
    )


@pytest.mark.parametrize(
    ("outcomes", "trips"),
    [
        ([S, S, S, S, S, F, F, F], [8]),  # the window slides: S S F F F
        ([F, F, S, S, S, F, S, F], []),  # never more than 2 of 5
        ([F, F, F, S, S], [5]),  # 3 of 5 is more than half
        ([Outcome.BUSY, Outcome.NO_ANSWER] * 5, []),  # only `failed` counts
    ],
)
def test_sliding_window(outcomes: list[Outcome], trips: list[int]) -> None:
    assert feed(CircuitBreaker(BreakerConfig(window=5, failed_ratio=0.5)), outcomes) == trips


CAMPAIGN = """
name: breaker
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001", "+919900000002"]}}
contacts: {{inline: {contacts}}}
pacing: {{max_concurrent_calls: 2}}
screening: {{dnd: call}}
health: {{circuit_breaker: {{window: 5, failed_ratio: 0.5}}}}
"""
NUMBERS = [f"+9194{i:08d}" for i in range(1, 31)]


async def test_the_breaker_pauses_the_run_and_campaigner_run_resumes(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(contacts=NUMBERS))
    broken = Scenario.model_validate({"outcome_mix": {"failed": 1}})
    journal_path = tmp_path / ".campaigner" / "breaker.sqlite3"
    async with trio.open_nursery() as nursery:
        host = await sim_host(nursery, broken)
        paused = await host.run(path)
        assert paused is not None
        assert (paused.reason, paused.exit_code) == ("paused", EXIT_PAUSED)
        assert paused.messages == [
            "circuit breaker: 5 of the last 5 calls failed (100%, more than 50%)"
        ]
        placed = len(host.sim.calls())
        assert 5 <= placed <= 5 + 2  # the window, plus calls already in flight (they finish)
        with Journal.read(journal_path) as journal:
            check_invariants(journal, host.sim, max_calls=1, complete=False)
            open_calls = journal.conn.execute("SELECT count(*) FROM calls WHERE open = 1")
            assert open_calls.fetchone()[0] == 0
            counts = journal.counts()
            kind, data = journal.conn.execute(
                "SELECT kind, data FROM run_log WHERE kind = 'breaker_tripped'"
            ).fetchone()
        assert counts == {"failed": placed, "ready": len(NUMBERS) - placed}
        assert json.loads(data) == {"failed": 5, "window": 5, "failed_ratio": 0.5}

        # The operator fixes the cause; two of the next calls still fail: a new window.
        for number in NUMBERS:
            host.sim.set_number(number, outcome="completed")
        for number in NUMBERS[placed : placed + 2]:
            host.sim.set_number(number, outcome="failed")
        resumed = await host.run(path)
        assert resumed is not None
        assert (resumed.reason, resumed.exit_code) == ("complete", EXIT_OK)
        assert resumed.preparation.resumed
        with Journal.read(journal_path) as journal:
            check_invariants(journal, host.sim, max_calls=1)
            assert journal.counts() == {
                "failed": placed + 2,
                "connected": len(NUMBERS) - placed - 2,
            }
        nursery.cancel_scope.cancel()
