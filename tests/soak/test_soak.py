"""The soak: 50,000 simulated calls with every fault at once and kill -9 of the engine
again and again, against an out-of-process simulator that outlives every death (issue 7).

Same campaign, faults and checks as the short chaos test (``tests/chaos``), at the size
of a working day: every contact ends with a final outcome, none gets more calls than
its policy allows, no two calls to one contact overlap, every call the simulator
placed is in ``campaigner export``, and each call's exported outcome, talk time and
recording is what really happened on its legs (the truth oracle, tests/engine/truth.py).
The result is printed (run with ``-s``) and recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.drive import Chaos, drive

CALLS = int(os.environ.get("SOAK_CALLS", "50000"))
CALLS_PER_CONTACT = 1.37  # retries and agent-side failures (measured by the chaos test)


@pytest.mark.soak
async def test_soak(tmp_path: Path) -> None:
    chaos = Chaos(
        contacts=round(CALLS / CALLS_PER_CONTACT),
        rate=float(os.environ.get("SOAK_RATE", "20")),
        agents=150,
        kills=25,
        kill_after=(15.0, 45.0),
        seed=int(os.environ.get("CHAOS_SEED", "7")),
        give_up="10m",
        sim_seconds=12 * 3600.0,
        run_timeout=3600.0,
    )
    report = await drive(tmp_path, chaos)
    print(report.summary())
    assert report.calls >= CALLS * 0.9
    assert report.kills >= 10
