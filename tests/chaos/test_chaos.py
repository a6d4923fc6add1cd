"""The short chaos test: a few hundred calls, every fault at once, three kill -9s and a
Ctrl-C, against an out-of-process simulator that outlives them all (issue 7).

Real time: about 30-40 s (both processes run 40 times faster than real). The soak
(``tests/soak``) is the same at 50,000 calls. ``CHAOS_SEED`` picks other kill instants
and fault draws.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.drive import MAX_CALLS, Chaos, drive

SEED = int(os.environ.get("CHAOS_SEED", "7"))


@pytest.mark.slow
async def test_every_fault_and_kill_9_lose_nothing(tmp_path: Path) -> None:
    chaos = Chaos(contacts=200, rate=40, kills=3, kill_after=(1.0, 4.0), seed=SEED)
    report = await drive(tmp_path, chaos)
    print(report.summary())
    # The faults really happened, and the engine really died mid-run.
    delivery = report.sim["delivery"]
    assert report.kills == 3, report.runs
    assert report.calls >= chaos.contacts
    assert min(delivery["dropped"], delivery["duplicated"], delivery["reordered"]) > 0
    statuses = {(c["method"], c["status"]) for c in report.sim["counters"]}
    assert {("POST", 0), ("POST", 200), ("POST", 403)} <= statuses  # lost answers, NDNC
    assert any(status == 429 for _, status in statuses)  # bursts
    assert {("GET", 500), ("GET", 502), ("GET", 503)} & statuses
    assert delivery["heartbeats_delivered"] > 0
    # check_export_invariants (in drive) holds: at most MAX_CALLS calls per contact.
    assert MAX_CALLS == 5
