"""One rate limiter for every Exotel request of a run: dials, polls, lookups alike.

Why: Exotel allows 200 requests/minute per account and answers 429 beyond it.
Grants are spaced exactly ``60 / requests_per_minute`` seconds apart (GCRA with a
burst of one), so no rolling 60 s holds more than ``requests_per_minute`` requests
and no second more than ``ceil(rpm / 60)``. Each grant is one absolute
``trio.sleep_until``, which stays exact under ``MockClock`` (a float token bucket that sleeps for
its deficit spins forever there).

Waiters are served by priority: polls and reconciliation first (tracking calls in
flight must never starve), then health checks, then DND lookups, then dials. The
lookups' share adapts to what the dialer needs: while a dial waits, a lookup goes
first only if lookups hold less than ``lookup_share`` of the last minute's grants;
while no dial waits (the dialer is waiting for screened contacts), lookups take every
grant. The screener bounds how far ahead it looks up (campaigner.engine.screener).
A 429 pauses every grant (1 s, doubling) and stretches the spacing until a minute
passes without one.

One account, several campaigns: Exotel counts requests per account, not per campaign,
so a limiter may also draw every grant from an **account budget** shared with the
other campaigns of the account. The budget is a second GCRA whose slots are spaced
``60 / account_rpm`` apart (``CAMPAIGNER_ACCOUNT_RPM``, default 200): a limiter with a
waiter reserves the next free slot, sleeps until it, then grants it. Each limiter holds
at most one reservation at a time, so busy campaigns take turns (round robin) and an
idle campaign reserves nothing: its share goes to the others. Two kinds:

- :class:`SharedBudget`: the campaigns of one process (``campaigner serve``), in trio
  time, exact under ``MockClock``.
- :class:`FileBudget`: the campaigns of every process of this user on this machine
  (``run`` beside ``run`` or ``serve``): the slot clock lives in a small file per account
  in the runner-lock directory (campaigner.store.locks), read and advanced under
  ``flock``, in the run's wall clock.

Exotel throttles v2 ExoPhone details separately (a small per-minute budget of its
own), so an account budget also carries a **details window**: at most
``DETAILS_PER_MINUTE`` of those requests (purpose ``health``) in any 60 s for the whole
account, a rolling log of the last ones (in memory, or beside the slot file). Five
campaigns starting together would otherwise each check the same ExoPhones at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import heapq
import math
import os
import struct
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Protocol

import trio

from campaigner.settings import ExotelSettings
from campaigner.store.files import private_dir, tighten_fd, unwritable
from campaigner.store.locks import lock_dir

PRIORITY = {"poll": 0, "reconcile": 0, "health": 1, "lookup": 2, "connect": 3}
_MAX_SLOWDOWN = 4.0
_MAX_PAUSE = 32.0

ACCOUNT_RPM = 200  # Exotel's documented per-account limit (v1 and v2; v3 shares it)
ACCOUNT_RPM_ENV = "CAMPAIGNER_ACCOUNT_RPM"
# Slots of the file budget are this much longer than 60/rpm (0.3 ms at 200/min, 60 ms
# over a minute): processes leave their slots with a few ms of scheduling jitter, and a
# request that leaves late while the one 200 slots after it leaves on time would put 201
# in Exotel's rolling minute (measured: 3 429s in 716 requests of two runs without it).
# It also covers rounding: the slots are epoch floats (~2e-7 s resolution near 2026).
_FILE_PAD = 1e-3
_SHARED_PAD = 1e-9
# A stored slot clock further ahead than this is not a live reservation (at most one
# interval per process plus a 429 pause): a clock jump or another test's virtual clock.
_MAX_AHEAD = 120.0
# v2 ExoPhone details per minute for the whole account: the per-run cap of
# campaigner.engine.health_monitor (V2_PER_MINUTE), under Exotel's separate throttle
DETAILS_PER_MINUTE = 6


def account_rpm() -> int:
    """The account's requests per minute: ``CAMPAIGNER_ACCOUNT_RPM``, else 200."""
    raw = os.environ.get(ACCOUNT_RPM_ENV, "").strip()
    if not raw:
        return ACCOUNT_RPM
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"{ACCOUNT_RPM_ENV}={raw!r}: a whole number of requests per minute"
        ) from None
    if value < 1:
        raise ValueError(f"{ACCOUNT_RPM_ENV}={raw!r}: must be at least 1")
    return value


class AccountBudget(Protocol):
    """Slots of one Exotel account, shared by every limiter of the account."""

    requests_per_minute: int
    details: DetailsWindow | None  # v2 ExoPhone details of the account (purpose "health")

    async def reserve(self) -> float:
        """Reserve the next free slot; returns its trio time (may be now)."""
        ...

    def hold(self, until: float) -> None:
        """After a 429: no slot for anyone before trio time ``until``."""
        ...

    def release(self) -> None:
        """The limiter stops: let go of any open resource (reopened on next use)."""
        ...


def window_slot(log: list[float], at: float, limit: int) -> tuple[float, list[float]]:
    """The first instant >= ``at`` with fewer than ``limit`` entries of ``log`` in the 60 s
    before it, and the log with that slot added (only the last ``limit`` are kept)."""
    recent = sorted(t for t in log if t > at - 60.0)
    slot = at if len(recent) < limit else max(at, recent[-limit] + 60.0 * (1.0 + _FILE_PAD))
    return slot, sorted([*recent, slot])[-limit:]


class DetailsWindow:
    """At most ``limit`` grants in any 60 s, in trio time (one process's campaigns)."""

    def __init__(self, limit: int = DETAILS_PER_MINUTE) -> None:
        self.limit = limit
        self._log: list[float] = []

    async def reserve(self) -> float:
        slot, self._log = window_slot(self._log, trio.current_time(), self.limit)
        return slot

    def release(self) -> None:
        return None


class SharedBudget:
    """The account budget of the campaigns of one process, in trio time (exact)."""

    def __init__(self, requests_per_minute: int) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.requests_per_minute = requests_per_minute
        # a nanosecond's padding per minute: adding the interval over and over rounds,
        # and rounding down could fit rpm + 1 slots in 60 s
        self.interval = 60.0 / requests_per_minute * (1.0 + _SHARED_PAD)
        self._tat = -math.inf
        self._recent: deque[float] = deque()
        self.details: DetailsWindow | None = DetailsWindow()

    async def reserve(self) -> float:
        now = trio.current_time()
        slot = max(self._tat, now)
        self._tat = slot + self.interval
        self._recent.append(slot)
        return slot

    def hold(self, until: float) -> None:
        self._tat = max(self._tat, until)

    def release(self) -> None:
        return None

    def last_minute(self) -> int:
        """Slots reserved in the last 60 s (the status page's account budget in use)."""
        return _count_last_minute(self._recent)


def _count_last_minute(recent: deque[float]) -> int:
    now = trio.current_time()
    while recent and recent[0] <= now - 60.0:
        recent.popleft()
    return sum(1 for t in recent if t <= now)


def budget_path(account: str, host: str = "") -> Path:
    """The account's slot file: a digest, so no account SID shows in a directory listing.

    ``host`` (the API base URL) is part of the key: one SID on two hosts (Exotel and a
    simulator in a test or a benchmark) is two counters, never one.
    """
    digest = hashlib.sha256(f"budget\0{account}\0{host}".encode()).hexdigest()[:32]
    return lock_dir() / f"{digest}.budget"


class FileBudget:
    """The account budget across processes: a slot clock in a file, under ``flock``.

    ``epoch`` is the run's wall clock (Unix seconds); slots are converted to trio time
    with it, so a run under a scaled or mock clock in tests stays consistent with itself.
    The critical section is a read and a write of 8 bytes: microseconds, so it is taken
    synchronously. A process killed while holding it releases it (the kernel does).
    """

    def __init__(self, path: Path, requests_per_minute: int, epoch: Callable[[], float]) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.path = path
        self.requests_per_minute = requests_per_minute
        self.interval = 60.0 / requests_per_minute * (1.0 + _FILE_PAD)
        self._epoch = epoch
        self._file = _LockedFile(path)
        self._recent: deque[float] = deque()
        self.details: DetailsWindow | None = FileWindow(
            path.with_suffix(".details"), DETAILS_PER_MINUTE, epoch
        )

    @classmethod
    def for_account(cls, settings: ExotelSettings, epoch: Callable[[], float]) -> FileBudget:
        """The budget file of the settings' account (and host) in the per-user lock dir."""
        path = budget_path(settings.account_sid or "", settings.v1_base)
        return cls(path, account_rpm(), epoch)

    async def reserve(self) -> float:
        now_trio = trio.current_time()
        now = self._epoch()
        slot = now_trio + (self._advance(now, self.interval) - now)
        self._recent.append(slot)
        return slot

    def last_minute(self) -> int:
        """Slots this process reserved in the last 60 s (other processes' are not seen)."""
        return _count_last_minute(self._recent)

    def hold(self, until: float) -> None:
        now = self._epoch()
        self._advance(now + (until - trio.current_time()), 0.0)

    def release(self) -> None:
        self._file.release()
        if self.details is not None:
            self.details.release()

    def _advance(self, at: float, step: float) -> float:
        """Under the lock: the slot is max(stored, at); store slot + step; return slot."""
        fd = self._file.open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            raw = os.pread(fd, 8, 0)
            stored = struct.unpack("<d", raw)[0] if len(raw) == 8 else -math.inf
            now = self._epoch()
            if not math.isfinite(stored) or stored > now + _MAX_AHEAD:
                stored = -math.inf
            slot = max(stored, at)
            os.pwrite(fd, struct.pack("<d", max(stored, slot + step)), 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return slot


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

    def __init__(
        self,
        requests_per_minute: int,
        *,
        lookup_share: float = 0.25,
        account: AccountBudget | None = None,
    ) -> None:
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
        self.account = account

    async def run(
        self, *, task_status: trio.TaskStatus[RateLimiter] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Issue grants forever (until cancelled)."""
        task_status.started(self)
        try:
            await self._grant_forever()
        finally:
            if self.account is not None:
                self.account.release()

    async def _grant_forever(self) -> None:
        while True:
            if not self._live_waiters():
                self._wake = trio.Event()
                await self._wake.wait()
                continue
            await trio.sleep_until(max(self._tat, self._paused_until))
            if self.account is not None:
                # the account's next slot, shared with the account's other campaigns;
                # a slot whose waiter left meanwhile is lost (never lent twice)
                await trio.sleep_until(await self.account.reserve())
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
        details = self.account.details if self.account is not None else None
        if purpose == "health" and details is not None:
            await trio.sleep_until(await details.reserve())  # the account's details window
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
        if self.account is not None:  # Exotel counts per account: everyone pauses
            self.account.hold(self._paused_until)

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


class FileWindow(DetailsWindow):
    """:class:`DetailsWindow` across processes: the log in a file, under ``flock``."""

    def __init__(self, path: Path, limit: int, epoch: Callable[[], float]) -> None:
        super().__init__(limit)
        self.path = path
        self._epoch = epoch
        self._file = _LockedFile(path)

    async def reserve(self) -> float:
        now_trio = trio.current_time()
        now = self._epoch()
        fd = self._file.open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            raw = os.pread(fd, 8 * self.limit, 0)
            log = [t for (t,) in struct.iter_unpack("<d", raw[: len(raw) // 8 * 8])]
            log = [t for t in log if math.isfinite(t) and t <= now + _MAX_AHEAD]
            slot, log = window_slot(log, now, self.limit)
            os.pwrite(fd, b"".join(struct.pack("<d", t) for t in log), 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return now_trio + (slot - now)

    def release(self) -> None:
        self._file.release()


class AccountGate:
    """A request gate (campaigner.exotel.client's ``RequestGate``) on the account budget
    alone, for the few requests made before a run's limiter exists (the preflight's
    probes): they count in Exotel's minute too, so they take account slots."""

    def __init__(self, budget: AccountBudget) -> None:
        self.budget = budget

    @classmethod
    def for_account(cls, settings: ExotelSettings) -> AccountGate:
        """The account's file budget on the real clock (``trio.run`` without a mock)."""
        return cls(FileBudget.for_account(settings, time.time))

    async def acquire(self, purpose: str) -> None:
        await trio.sleep_until(await self.budget.reserve())

    def on_status(self, status: int, code: str | None = None) -> None:
        if status == 429:
            self.budget.hold(trio.current_time() + 1.0)


class _LockedFile:
    """A private state file of the lock directory, opened once and kept open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> int:
        if self._fd is None:
            private_dir(self.path.parent)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise unwritable(self.path, exc) from exc
            tighten_fd(fd, self.path)
            self._fd = fd
        return self._fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
