"""``serve`` in one process against the in-process simulator, in virtual time.

Every test checks each campaign with the truth oracle (tests/engine/truth.py), that no
contact is called more often than its campaign allows, and that the account never got
a 429 although the campaigns together asked for more than its budget.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import trio
import trio.testing

from campaigner.serve.status import render, snapshot
from campaigner.serve.supervisor import Supervisor
from campaigner.simulator import Simulator
from campaigner.simulator.calls import CallInfo
from campaigner.simulator.inspect import truths
from campaigner.store.journal import Journal
from tests.engine.truth import NEVER_DIALED, contact_leg
from tests.serve.harness import phones, serve_sim, write


def called(served_calls: list[CallInfo]) -> Counter[str]:
    """Calls by contact number (agent first: the contact is ``To``)."""
    return Counter(str(c.to_number) for c in served_calls)


def never_twice_at_once(calls: list[CallInfo]) -> None:
    """No contact had two calls at the same time (the double dial every layer prevents)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for c in calls:
        spans.setdefault(str(c.to_number), []).append((c.created_at, c.ended_at or 1e18))
    for number, placed in spans.items():
        placed.sort()
        for (_, end), (start, _) in zip(placed, placed[1:], strict=False):
            assert start >= end, f"two calls to {number} overlapped"


def rung(sim: Simulator) -> Counter[str]:
    """Calls that really rang the contact (an agent who did not answer rings nobody)."""
    leg = contact_leg("agent_first")
    return Counter(str(t.to_number) for t in truths(sim) if t.legs[leg] != NEVER_DIALED)


async def test_three_campaigns_with_overlapping_windows_share_one_account(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    write(tmp_path, "alpha", phones(11, 60), start="10:00", end="23:00")
    write(tmp_path, "beta", phones(12, 60), api="v3", start="10:05", end="23:00")
    write(tmp_path, "gamma", phones(13, 60), start="09:00", end="10:30")
    async with serve_sim(tmp_path) as served:
        await served.until(lambda: set(served.states().values()) == {"done"})
        assert served.throttled() == 0
        for name in ("alpha", "beta", "gamma"):
            assert served.check_truth(name, tmp_path) >= 60
        calls = served.sim.calls()
        # nobody rung more often than the retry rules allow: 2 attempts, plus up to 3
        # agent-side failures that re-queue without spending one (retry.agent_failures)
        assert max(rung(served.sim).values()) <= 2 + 3
        never_twice_at_once(calls)
        # every call of a campaign inside its own window (IST: anchor 10:00 at t=0)
        beta = [c for c in calls if c.to_number.startswith("+919712")]
        assert min(c.created_at for c in beta) >= 5 * 60 - 1e-6


async def test_a_changed_file_applies_to_calls_not_yet_placed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    write(tmp_path, "alpha", phones(21, 40), rpm=10)  # slow: most are still waiting
    async with serve_sim(tmp_path) as served:
        await trio.sleep(120.0)
        assert served.states()["alpha"] == "running"
        # the reviewed change: contacts 31..40 removed, 41..50 added, pace doubled
        write(tmp_path, "alpha", phones(21, 30) + phones(21, 10, first=41), rpm=20)
        await served.until(lambda: served.states()["alpha"] == "done")
        assert served.throttled() == 0
        served.check_truth("alpha", tmp_path)
        numbers = set(called(served.sim.calls()))
        assert not numbers & set(phones(21, 10, first=31))  # removed: never called
        never_twice_at_once(served.sim.calls())
        assert set(phones(21, 10, first=41)) <= numbers  # added: called
    with Journal.read(tmp_path / ".campaigner" / "alpha.sqlite3") as journal:
        kinds = {r[0] for r in journal.conn.execute("SELECT kind FROM run_log")}
    assert "file_changed" in kinds


async def test_an_invalid_change_leaves_the_last_valid_version_running(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write(tmp_path, "alpha", phones(31, 30), rpm=20)
    async with serve_sim(tmp_path) as served:
        await trio.sleep(60.0)
        good = path.read_text()
        path.write_text(good.replace("requests_per_minute: 20", "requests_per_minute: -5"))
        await trio.sleep(30.0)
        campaign = served.supervisor.campaigns[path]
        assert campaign.state == "running"
        assert campaign.problem is not None
        assert "requests_per_minute" in campaign.problem
        assert any("does not validate" in e for e in campaign.errors)
        # ... and says so on the status page, JSON and HTML
        (entry,) = snapshot(served.supervisor)["campaigns"]
        assert entry["state"] == "running"
        assert "requests_per_minute" in entry["problem"]
        assert entry["status"]["campaign"] == "alpha"
        kind, page = render(served.supervisor, True)
        assert kind.startswith("text/html")
        assert b"requests_per_minute" in page
        await served.until(lambda: served.states()["alpha"] == "done")
        assert served.throttled() == 0
        served.check_truth("alpha", tmp_path)
        assert set(called(served.sim.calls())) == set(phones(31, 30))
    with Journal.read(tmp_path / ".campaigner" / "alpha.sqlite3") as journal:
        kinds = [r[0] for r in journal.conn.execute("SELECT kind FROM run_log")]
    assert "invalid_change" in kinds


async def test_a_pause_in_the_file_stops_dialing_until_it_is_lifted(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = write(tmp_path, "alpha", phones(41, 40), rpm=10)
    async with serve_sim(tmp_path) as served:
        await trio.sleep(90.0)
        path.write_text(path.read_text() + "paused: true\n")
        await served.until(lambda: served.states()["alpha"] == "paused")
        paused_at = trio.current_time()
        before = len(served.sim.calls())
        await trio.sleep(1800.0)  # half an hour paused: nobody is dialed
        assert len(served.sim.calls()) == before
        assert all(c.created_at <= paused_at for c in served.sim.calls())
        path.write_text(path.read_text().replace("paused: true\n", ""))
        await served.until(lambda: served.states()["alpha"] == "done")
        assert served.throttled() == 0
        served.check_truth("alpha", tmp_path)
        assert set(called(served.sim.calls())) == set(phones(41, 40))
        never_twice_at_once(served.sim.calls())
    with Journal.read(tmp_path / ".campaigner" / "alpha.sqlite3") as journal:
        kinds = [r[0] for r in journal.conn.execute("SELECT kind FROM run_log")]
    assert kinds.index("paused") < kinds.index("resumed")


async def test_a_graceful_stop_then_a_new_serve_finishes_every_campaign(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    write(tmp_path, "alpha", phones(51, 40), rpm=30)
    write(tmp_path, "beta", phones(52, 40), api="v3", rpm=30)
    async with serve_sim(tmp_path) as served:
        await trio.sleep(60.0)
        assert set(served.states().values()) == {"running"}
        await served.supervisor.stop()  # what SIGTERM does
        stopped_at = trio.current_time()
        placed = len(served.sim.calls())
        assert 0 < placed < 80
        await trio.sleep(600.0)  # stopped: nobody is dialed
        assert len(served.sim.calls()) == placed
        again = Supervisor(tmp_path, served.supervisor.host, poll=10.0, grace=30.0)
        async with trio.open_nursery() as nursery:
            await nursery.start(again.run)
            await served.until(lambda: {c.state for c in again.campaigns.values()} == {"done"})
            nursery.cancel_scope.cancel()
        assert served.throttled() == 0
        for name in ("alpha", "beta"):
            served.check_truth(name, tmp_path)
        assert set(called(served.sim.calls())) == set(phones(51, 40) + phones(52, 40))
        never_twice_at_once(served.sim.calls())
        assert min(c.created_at for c in served.sim.calls()[placed:]) > stopped_at
