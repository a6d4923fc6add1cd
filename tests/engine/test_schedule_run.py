"""Windows, deadline and backoff, asserted exactly in virtual time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import trio.testing

from campaigner.simulator import Scenario
from tests.engine.harness import IST, run_against_sim, write_campaign
from tests.engine.truth import check_truth

# Two requests precede the first dial, one limiter interval (60/180 s) each: the caller
# ID's health (v2 details: no heartbeat is journaled) and the contact's DND lookup.
STARTUP = timedelta(seconds=2 * 60 / 180)

BASE = """
name: windows
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001"]}}
contacts: {{inline: {contacts}}}
retry: {{max_attempts: 3, on: [busy], backoff: {{first: 10m, factor: 2}}}}
schedule:
  windows: [{{days: [mon, tue, wed, thu, fri], start: "09:30", end: "18:00"}}]
{extra}
"""


def call_times(out: object) -> list[datetime]:
    """When each call was dialed, after checking every call's outcome is the true one."""
    journal = out.journal()  # type: ignore[attr-defined]
    check_truth(journal, out.sim, recording=False)  # type: ignore[attr-defined]
    rows = journal.conn.execute("SELECT intent_at FROM calls ORDER BY id").fetchall()
    return [datetime.fromtimestamp(r[0], UTC).astimezone(IST) for r in rows]


async def test_nothing_dials_before_the_window_opens(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write_campaign(tmp_path, BASE.format(contacts=["+919700000001"], extra=""))
    saturday_8pm = datetime(2026, 11, 28, 20, 0, tzinfo=IST)
    scenario = Scenario.model_validate({"outcome_mix": {"completed": 1}})
    out = await run_against_sim(path, scenario, anchor=saturday_8pm)
    assert call_times(out) == [datetime(2026, 11, 30, 9, 30, tzinfo=IST)]
    assert any(
        "dialing resumes Mon 30 Nov 09:30" in m
        for m in out.journal()
        .conn.execute("SELECT message FROM run_log WHERE kind = 'waiting'")
        .fetchone()
    )


async def test_retries_follow_the_backoff_exactly(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    number = "+919700000001"
    path = write_campaign(tmp_path, BASE.format(contacts=[number], extra=""))
    scenario = Scenario.model_validate(
        {
            "numbers": {number: {"outcome": "busy"}},
            "outcome_mix": {"completed": 1},  # the agent always answers
            "timing": {"busy_after": [4, 4], "ring": [5, 5], "queue": [0, 0]},
        }
    )
    start = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
    out = await run_against_sim(path, scenario, anchor=start)
    times = call_times(out)
    assert len(times) == 3
    assert times[0] == start + STARTUP
    ended = out.journal().conn.execute("SELECT resolved_at FROM calls ORDER BY id").fetchall()
    first_end = datetime.fromtimestamp(ended[0][0], UTC)
    second_end = datetime.fromtimestamp(ended[1][0], UTC)
    assert times[1] == first_end + timedelta(minutes=10)
    assert times[2] == second_end + timedelta(minutes=20)


async def test_a_retry_due_after_hours_waits_for_the_next_window(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    number = "+919700000001"
    path = write_campaign(tmp_path, BASE.format(contacts=[number], extra=""))
    scenario = Scenario.model_validate(
        {"numbers": {number: {"outcome": "busy"}}, "outcome_mix": {"completed": 1}}
    )
    friday_5_55pm = datetime(2026, 11, 27, 17, 55, tzinfo=IST)
    out = await run_against_sim(path, scenario, anchor=friday_5_55pm)
    times = call_times(out)
    assert times[0] == friday_5_55pm + STARTUP
    assert times[1] == datetime(2026, 11, 30, 9, 30, tzinfo=IST)


async def test_deadline_expires_what_is_left(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    contacts = [f"+9197000000{i:02d}" for i in range(1, 21)]
    deadline = "deadline: 2026-11-23T10:03:00+05:30"
    text = BASE.format(contacts=contacts, extra="").replace(
        'end: "18:00"}]', 'end: "18:00"}]\n  ' + deadline
    )
    path = write_campaign(tmp_path, text)
    scenario = Scenario.model_validate({"outcome_mix": {"completed": 1}})
    out = await run_against_sim(path, scenario, anchor=datetime(2026, 11, 23, 10, 0, tzinfo=IST))
    assert out.result.reason == "deadline"
    counts = out.journal().counts()
    assert counts.get("expired", 0) > 0
    assert counts.get("connected", 0) > 0
    assert sum(counts.values()) == 20
    last_dial = max(call_times(out))
    assert last_dial < datetime(2026, 11, 23, 10, 3, tzinfo=IST)
