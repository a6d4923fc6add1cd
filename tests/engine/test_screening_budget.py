"""DND lookups share the run's budget with dials: no 429, no idle grant, no runaway lookahead.

Measured in virtual time against the simulator (which answers 429 beyond 200 requests
in any rolling minute). With every number unknown each dial needs one lookup first, so
the best any split can do is one lookup and one dial per two grants: dials then never
wait on screening for more than the one lookup their contact needs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import trio.testing

from campaigner.exotel.models import NumberMetadata
from campaigner.simulator import RequestRecord, Scenario
from campaigner.store.shared import SharedState
from tests.engine.harness import MONDAY_10AM, run_against_sim, write_campaign

CAMPAIGN = """
name: budget
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: flow, app_id: "1234"}}
contacts: {{inline: {contacts}}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: {concurrency}}}
tracking: {{poll_after: 5m, poll_interval: 1m}}
"""
INTERVAL = 60 / 180
SHORT_CALLS = Scenario.model_validate(
    {"outcome_mix": {"completed": 1}, "timing": {"talk": [5, 10]}}
)
NUMBERS = [f"+9196{i:08d}" for i in range(1, 301)]


def times(requests: list[RequestRecord], kind: str) -> list[float]:
    start = requests[0].time
    return [r.time - start for r in requests if r.kind == kind]


def cache(tmp_path: Path, numbers: list[str]) -> None:
    blank = NumberMetadata(None, None, None, None, None, None, dnd=False)
    with SharedState.open(tmp_path / ".campaigner") as shared:
        for number in numbers:
            shared.remember(number, blank, MONDAY_10AM.timestamp())


async def test_300_unknown_numbers_fill_the_budget_without_a_429(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write_campaign(tmp_path, CAMPAIGN.format(contacts=NUMBERS, concurrency=1000))
    out = await run_against_sim(path, SHORT_CALLS)
    requests = out.sim.requests
    assert Counter((r.kind, r.status) for r in requests) == {
        ("v2.exophone", 200): 1,  # the caller ID's health at start
        ("v1.numbers", 200): 300,  # each number looked up once
        ("v1.connect", 200): 300,
        ("v1.calls", 200): 3,  # the price sweep: 300 calls' prices, 100 SIDs a request
    }
    dials = times(requests, "v1.connect")
    everything = [r.time - requests[0].time for r in requests if r.kind != "v1.calls"]
    # The budget is never idle while contacts remain: grants are back to back...
    gaps = [b - a for a, b in zip(everything, everything[1:], strict=False)]
    assert max(gaps) == pytest.approx(INTERVAL)
    assert dials[-1] == pytest.approx(600 * INTERVAL)
    # ...and a dial waits for screening at most the one lookup its contact needs.
    dial_gaps = [b - a for a, b in zip(dials, dials[1:], strict=False)]
    assert max(dial_gaps) == pytest.approx(2 * INTERVAL)
    assert out.result.stats.screening_wait <= 300 * INTERVAL + 1e-6


async def test_known_numbers_leave_dials_the_larger_share(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    cache(tmp_path, NUMBERS[::2])
    path = write_campaign(tmp_path, CAMPAIGN.format(contacts=NUMBERS, concurrency=1000))
    out = await run_against_sim(path, SHORT_CALLS)
    requests = out.sim.requests
    assert not [r for r in requests if r.status == 429]
    assert (out.result.stats.looked_up, out.result.stats.from_cache) == (150, 150)
    dials = times(requests, "v1.connect")
    assert len(dials) == 300
    assert dials[-1] == pytest.approx(450 * INTERVAL)  # 150 lookups + 300 dials, no idle slot
    first_minute = Counter(r.kind for r in requests if r.time - requests[0].time < 60)
    assert first_minute == {"v2.exophone": 1, "v1.numbers": 60, "v1.connect": 119}


async def test_screening_stays_a_bounded_lookahead_ahead_of_the_dialer(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    contacts = NUMBERS[:60]
    path = write_campaign(tmp_path, CAMPAIGN.format(contacts=contacts, concurrency=3))
    slow = Scenario.model_validate({"outcome_mix": {"completed": 1}, "timing": {"talk": [60, 60]}})
    out = await run_against_sim(path, slow)
    lookahead = 10  # 2 x max_concurrent_calls, at least 10
    requests = out.sim.requests
    looked = dialed = worst = 0
    for record in requests:
        looked += record.kind == "v1.numbers"
        dialed += record.kind == "v1.connect"
        worst = max(worst, looked - dialed)
    assert (looked, dialed) == (60, 60)
    assert worst == lookahead
    assert not [r for r in requests if r.status == 429]
