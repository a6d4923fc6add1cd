from __future__ import annotations

import math

import pytest
import trio
import trio.lowlevel
import trio.testing

from campaigner.engine.limiter import RateLimiter


async def grant_times(limiter: RateLimiter, n: int, purpose: str = "connect") -> list[float]:
    times: list[float] = []
    for _ in range(n):
        await limiter.acquire(purpose)
        times.append(trio.current_time())
    return times


async def test_grants_are_evenly_spaced(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(180).run)
        times = await grant_times(limiter, 181)
        nursery.cancel_scope.cancel()
    gaps = {round(b - a, 9) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {round(1 / 3, 9)}
    assert times[180] - times[0] == pytest.approx(60.0)


async def test_the_201st_request_leaves_at_exactly_60s(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(200).run)
        start = trio.current_time()
        times = await grant_times(limiter, 201)
        nursery.cancel_scope.cancel()
    assert times[0] == start
    assert times[200] - start == pytest.approx(60.0)


@pytest.mark.parametrize("rpm", [1, 7, 59, 60, 61, 180, 200])
async def test_no_window_exceeds_the_budget(
    rpm: int, autojump_clock: trio.testing.MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(rpm).run)

        async def worker(out: list[float]) -> None:
            out.extend(await grant_times(limiter, rpm))

        results: list[float] = []
        async with trio.open_nursery() as workers:
            for _ in range(3):
                workers.start_soon(worker, results)
        nursery.cancel_scope.cancel()
    times = sorted(results)
    for i, t in enumerate(times):
        in_minute = sum(1 for u in times[i:] if u < t + 60.0 - 1e-9)
        in_second = sum(1 for u in times[i:] if u < t + 1.0 - 1e-9)
        assert in_minute <= rpm
        assert in_second <= math.ceil(rpm / 60)


async def test_polls_go_before_dials(autojump_clock: trio.testing.MockClock) -> None:
    order: list[str] = []
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(60).run)
        await limiter.acquire("connect")  # spends the first slot: the next is 1 s away

        async def take(purpose: str) -> None:
            await limiter.acquire(purpose)
            order.append(purpose)

        async with trio.open_nursery() as waiters:
            for purpose in ("connect", "connect", "poll", "lookup", "reconcile"):
                waiters.start_soon(take, purpose)
                await trio.lowlevel.checkpoint()
        nursery.cancel_scope.cancel()
    assert order == ["poll", "reconcile", "lookup", "connect", "connect"]


async def test_lookups_are_capped_while_dials_wait(autojump_clock: trio.testing.MockClock) -> None:
    order: list[str] = []
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(600, lookup_share=0.25).run)

        async def take(purpose: str, n: int) -> None:
            for _ in range(n):
                await limiter.acquire(purpose)
                order.append(purpose)

        async with trio.open_nursery() as waiters:
            waiters.start_soon(take, "lookup", 200)
            waiters.start_soon(take, "connect", 200)
        nursery.cancel_scope.cancel()
    first_hundred = order[:100]
    assert 20 <= first_hundred.count("lookup") <= 30


async def test_429_pauses_then_slows_then_recovers(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(60).run)
        await limiter.acquire("connect")
        t0 = trio.current_time()
        limiter.on_status(429)
        await limiter.acquire("connect")
        # paused 1 s (already waiting 1 s for the slot), next slots 1.5 s apart
        assert trio.current_time() - t0 == pytest.approx(1.0)
        await limiter.acquire("connect")
        assert trio.current_time() - t0 == pytest.approx(2.5)
        assert limiter.statistics().throttled == 1
        limiter.on_status(429)
        limiter.on_status(429)  # each repeat within a minute doubles the pause: 2 s, then 4 s
        t1 = trio.current_time()
        await limiter.acquire("connect")
        assert trio.current_time() - t1 == pytest.approx(4.0)
        stats = limiter.statistics()
        assert stats.slowdown == pytest.approx(1.5**3)
        await trio.sleep(200)
        for _ in range(4):
            await trio.sleep(61)
            await limiter.acquire("connect")
        assert limiter.statistics().slowdown == 1.0
        nursery.cancel_scope.cancel()


async def test_cancelled_waiter_does_not_consume_a_grant(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        limiter = await nursery.start(RateLimiter(60).run)
        await limiter.acquire("connect")
        with trio.move_on_after(0.5):
            await limiter.acquire("connect")
        t = trio.current_time()
        await limiter.acquire("poll")
        assert trio.current_time() - t == pytest.approx(0.5)
        nursery.cancel_scope.cancel()
