"""One rate limiter for every Exotel request of a run: dials, polls, lookups alike.

Why: Exotel allows 200 requests/minute per account and answers 429 beyond it.
Grants are spaced exactly ``60 / requests_per_minute`` seconds apart (GCRA with a
burst of one), so no rolling 60 s holds more than ``requests_per_minute`` requests
and no second more than ``ceil(rpm / 60)``. Each grant is one absolute
``trio.sleep_until``, which stays exact under ``MockClock`` (notes/stack.md, s. 4).

Waiters are served by priority: polls and reconciliation first (tracking calls in
flight must never starve), then health checks, then DND lookups, then dials. The
lookups' share adapts to what the dialer needs: while a dial waits, a lookup goes
first only if lookups hold less than ``lookup_share`` of the last minute's grants;
while no dial waits (the dialer is waiting for screened contacts), lookups take every
grant. The screener bounds how far ahead it looks up (campaigner.engine.screener).
A 429 pauses every grant (1 s, doubling) and stretches the spacing until a minute
passes without one.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from dataclasses import dataclass, field
from itertools import count

import trio

PRIORITY = {"poll": 0, "reconcile": 0, "health": 1, "lookup": 2, "connect": 3}
_MAX_SLOWDOWN = 4.0
_MAX_PAUSE = 32.0


@dataclass(slots=True)
class _Waiter:
    purpose: str
    event: trio.Event = field(default_factory=trio.Event)
    done: bool = False  # granted or abandoned: no longer waiting (removed from the heap lazily)


@dataclass(frozen=True, slots=True)
class LimiterStats:
    """A snapshot for progress displays and reports."""

    requests_per_minute: int
    last_minute: int
    waiting: dict[str, int]
    granted: dict[str, int]
    throttled: int
    slowdown: float


class RateLimiter:
    """The run's request gate (implements ``campaigner.exotel.client.RequestGate``).

    Start it with ``await nursery.start(limiter.run)``; ``acquire`` waits for a grant.
    """

    def __init__(self, requests_per_minute: int, *, lookup_share: float = 0.25) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.rpm = requests_per_minute
        self.interval = 60.0 / requests_per_minute
        self.lookup_share = lookup_share
        self._heap: list[tuple[int, int, _Waiter]] = []
        self._seq = count()
        self._wake = trio.Event()
        self._tat = -math.inf
        self._paused_until = -math.inf
        self._pause = 0.0
        self._slowdown = 1.0
        self._last_429 = -math.inf
        self._last_adjust = -math.inf
        self._recent: deque[tuple[float, str]] = deque()
        self._granted: Counter[str] = Counter()
        self._throttled = 0

    async def run(
        self, *, task_status: trio.TaskStatus[RateLimiter] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Issue grants forever (until cancelled)."""
        task_status.started(self)
        while True:
            if not self._live_waiters():
                self._wake = trio.Event()
                await self._wake.wait()
                continue
            await trio.sleep_until(max(self._tat, self._paused_until))
            now = trio.current_time()
            if now < self._paused_until:  # a 429 arrived while we slept
                continue
            waiter = self._pick(now)
            if waiter is None:
                continue
            waiter.event.set()
            self._record(now, waiter.purpose)
            self._tat = now + self.interval * self._slowdown

    async def acquire(self, purpose: str) -> None:
        """Wait for permission to send one request for ``purpose``."""
        waiter = _Waiter(purpose)
        heapq.heappush(self._heap, (PRIORITY.get(purpose, 3), next(self._seq), waiter))
        self._wake.set()
        try:
            await waiter.event.wait()
        except BaseException:
            waiter.done = True
            raise

    def on_status(self, status: int, code: str | None = None) -> None:
        """Feedback after each answer: a 429 pauses all grants and slows the pace."""
        if status != 429:
            return
        now = trio.current_time()
        self._throttled += 1
        recent = now - self._last_429 < 60.0
        self._pause = min(self._pause * 2, _MAX_PAUSE) if recent and self._pause else 1.0
        self._slowdown = min(self._slowdown * 1.5, _MAX_SLOWDOWN)
        self._last_429 = now
        self._last_adjust = now
        self._paused_until = max(self._paused_until, now + self._pause)

    def statistics(self) -> LimiterStats:
        now = trio.current_time()
        self._trim(now)
        waiting = Counter(w.purpose for _, _, w in self._heap if not w.done)
        return LimiterStats(
            requests_per_minute=self.rpm,
            last_minute=len(self._recent),
            waiting=dict(waiting),
            granted=dict(self._granted),
            throttled=self._throttled,
            slowdown=self._slowdown,
        )

    # -- internals ----------------------------------------------------------------------

    def _live_waiters(self) -> bool:
        while self._heap and self._heap[0][2].done:
            heapq.heappop(self._heap)
        return bool(self._heap)

    def _pick(self, now: float) -> _Waiter | None:
        """Pop the best waiter; a lookup yields to a dial once lookups exceed their share."""
        self._trim(now)
        if not self._live_waiters():
            return None
        first = self._heap[0][2]
        if first.purpose == "lookup" and self._lookups_over_share():
            dial = self._first_waiting("connect")
            if dial is not None:
                dial.done = True  # leaves the heap lazily
                return dial
        heapq.heappop(self._heap)
        first.done = True
        return first

    def _first_waiting(self, purpose: str) -> _Waiter | None:
        candidates = [e for e in self._heap if e[2].purpose == purpose and not e[2].done]
        return min(candidates, key=lambda e: e[:2])[2] if candidates else None

    def _lookups_over_share(self) -> bool:
        total = len(self._recent)
        lookups = sum(1 for _, p in self._recent if p == "lookup")
        return total > 0 and lookups >= self.lookup_share * max(total, 1)

    def _record(self, now: float, purpose: str) -> None:
        self._recent.append((now, purpose))
        self._granted[purpose] += 1
        # Recover one step per quiet minute: the pace returns to the budget gradually.
        if self._slowdown > 1.0 and now - self._last_adjust >= 60.0:
            self._slowdown = max(1.0, self._slowdown / 1.5)
            self._last_adjust = now
        if now - self._last_429 >= 60.0:
            self._pause = 0.0

    def _trim(self, now: float) -> None:
        while self._recent and self._recent[0][0] <= now - 60.0:
            self._recent.popleft()
