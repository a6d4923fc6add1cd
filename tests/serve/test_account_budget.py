"""The account budget: every campaign of one Exotel account draws from one limit.

In one process (``SharedBudget``, trio time) and across processes (``FileBudget``,
a slot clock in a file under flock). Virtual time throughout, except the
cross-process test, which checks the reserved slots (not when requests left).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trio.testing

from campaigner.engine.limiter import (
    DETAILS_PER_MINUTE,
    FileBudget,
    RateLimiter,
    SharedBudget,
    budget_path,
)

REPO = Path(__file__).resolve().parents[2]


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """The most grants inside any half-open ``window`` (the simulator's rolling reading)."""
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def busy(limiter: RateLimiter, out: list[float], until: float, purpose: str) -> None:
    while trio.current_time() < until:
        await limiter.acquire(purpose)
        if trio.current_time() < until:  # a grant after the end is not counted
            out.append(trio.current_time())


async def share(
    rpms: list[int], account: int, seconds: float, busy_from: list[float] | None = None
) -> list[list[float]]:
    budget = SharedBudget(account)
    grants: list[list[float]] = [[] for _ in rpms]
    async with trio.open_nursery() as nursery:
        limiters = [await nursery.start(RateLimiter(rpm, account=budget).run) for rpm in rpms]
        async with trio.open_nursery() as workers:
            for i, limiter in enumerate(limiters):
                start = (busy_from or [0.0] * len(rpms))[i]

                async def worker(
                    i: int = i, limiter: RateLimiter = limiter, start: float = start
                ) -> None:
                    await trio.sleep(start)
                    await busy(limiter, grants[i], seconds, "connect")

                workers.start_soon(worker)
        nursery.cancel_scope.cancel()
    return grants


@pytest.mark.parametrize("campaigns", [2, 5])
async def test_campaigns_of_one_account_never_pass_its_limit_together(
    campaigns: int, autojump_clock: trio.testing.MockClock
) -> None:
    grants = await share([180] * campaigns, 200, 300.0)
    every = [t for g in grants for t in g]
    assert max_in_window(every) == 200  # the account's limit, reached and not passed
    # 300 s at 200/min is 1000 slots; every one was used (the first at 0 s)
    assert len(every) == 1000
    # fair: busy campaigns take turns
    counts = [len(g) for g in grants]
    assert max(counts) - min(counts) <= 1


async def test_an_idle_campaign_lends_its_share(autojump_clock: trio.testing.MockClock) -> None:
    # the second campaign is idle for the first two minutes, then busy
    first, second = await share([200, 200], 200, 240.0, busy_from=[0.0, 120.0])
    alone = [t for t in first if t < 120.0]
    assert len(alone) == 400  # the whole account's budget while the other is idle
    together_first = [t for t in first if t >= 120.0]
    assert abs(len(together_first) - len(second)) <= 1
    assert max_in_window(first + second) == 200


async def test_a_campaigns_own_pace_still_binds(autojump_clock: trio.testing.MockClock) -> None:
    slow, fast = await share([30, 200], 200, 120.0)
    # its own pace caps it; waiting for the account's next slot may cost it one
    # account interval (0.3 s) per grant: 2.0 s becomes at most 2.3 s
    assert 26 <= max_in_window(slow) <= 30
    assert len(slow) + len(fast) == 400  # the slow one's unused share goes to the other


async def test_a_429_pauses_every_campaign_of_the_account(
    autojump_clock: trio.testing.MockClock,
) -> None:
    budget = SharedBudget(200)
    async with trio.open_nursery() as nursery:
        a = await nursery.start(RateLimiter(200, account=budget).run)
        b = await nursery.start(RateLimiter(200, account=budget).run)
        await a.acquire("connect")
        a.on_status(429)  # pauses a for 1 s; the account too
        start = trio.current_time()
        await b.acquire("connect")
        assert trio.current_time() - start >= 1.0
        nursery.cancel_scope.cancel()


async def test_two_file_budgets_share_one_slot_clock(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    path = tmp_path / "account.budget"
    epoch = trio.current_time  # any clock both agree on
    one, two = FileBudget(path, 200, epoch), FileBudget(path, 200, epoch)
    grants: list[list[float]] = [[], []]
    async with trio.open_nursery() as nursery:
        limiters = [await nursery.start(RateLimiter(180, account=b).run) for b in (one, two)]
        async with trio.open_nursery() as workers:
            for i, limiter in enumerate(limiters):
                workers.start_soon(busy, limiter, grants[i], 180.0, "connect")
        nursery.cancel_scope.cancel()
    every = grants[0] + grants[1]
    assert max_in_window(every) == 200
    assert len(every) >= 599  # 600 slots in 180 s, less the padding's rounding
    assert abs(len(grants[0]) - len(grants[1])) <= 1


async def test_a_stale_slot_clock_is_not_waited_for(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    path = tmp_path / "account.budget"
    far = FileBudget(path, 200, lambda: trio.current_time() + 10_000.0)
    await far.reserve()  # another clock, far ahead, left its slot clock there
    here = FileBudget(path, 200, trio.current_time)
    assert await here.reserve() == trio.current_time()
    far.release()
    here.release()


def test_the_budget_file_name_hides_the_account(tmp_path: Path) -> None:
    assert "AC1234" not in str(budget_path("AC1234"))
    assert budget_path("AC1234") != budget_path("AC1235")
    # one SID on two hosts (Exotel, a simulator) is two counters
    assert budget_path("AC1234", "https://api.exotel.com") != budget_path(
        "AC1234", "http://127.0.0.1:8765"
    )


CHILD = """
import json, sys, time
from pathlib import Path
import trio
from campaigner.engine.limiter import FileBudget

async def main():
    budget = FileBudget(Path(sys.argv[1]), 1200, time.time)
    out = []
    for _ in range(int(sys.argv[2])):
        slot = await budget.reserve()
        out.append(time.time() + (slot - trio.current_time()))
    print(json.dumps(out))

trio.run(main)
"""


def test_processes_on_one_account_reserve_distinct_spaced_slots(tmp_path: Path) -> None:
    path = tmp_path / "account.budget"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), "200"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    slots: list[float] = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        slots.extend(json.loads(out))
    slots.sort()
    assert len(slots) == 600
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    # 1200/min: 50 ms apart; the conversion through two clocks costs microseconds
    assert min(gaps) > 0.05 - 1e-3


@pytest.mark.parametrize("kind", ["shared", "file"])
async def test_exophone_details_of_all_campaigns_share_the_accounts_window(
    kind: str, autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    # five campaigns start together, each checking the same three caller IDs (v2
    # details, throttled by Exotel on its own small budget)
    path = tmp_path / "account.budget"
    budgets = (
        [SharedBudget(200)] * 5
        if kind == "shared"
        else [FileBudget(path, 200, trio.current_time) for _ in range(5)]
    )
    grants: list[float] = []
    async with trio.open_nursery() as nursery:
        limiters = [await nursery.start(RateLimiter(180, account=b).run) for b in budgets]

        async def check(limiter: RateLimiter) -> None:
            for _ in range(3):
                await limiter.acquire("health")
                grants.append(trio.current_time())

        async with trio.open_nursery() as campaigns:
            for limiter in limiters:
                campaigns.start_soon(check, limiter)
        nursery.cancel_scope.cancel()
    assert len(grants) == 15
    assert max_in_window(grants) == DETAILS_PER_MINUTE
    assert max(grants) < 180.0  # 15 at 6 a minute: the third minute, not later
