"""Everything the engine's services share during one run."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import trio

from campaigner.campaign.resolved import LoadedCampaign
from campaigner.clock import TrioWallClock
from campaigner.domain import Outcome
from campaigner.engine.breaker import CircuitBreaker
from campaigner.engine.gate import EngineGate
from campaigner.engine.limiter import RateLimiter
from campaigner.engine.open_calls import AgentPool, CallerIds, CallRegistry, Slots
from campaigner.engine.outage import Outage
from campaigner.exotel.client import ExotelClient
from campaigner.schedule import CallingSchedule
from campaigner.store.journal import Journal
from campaigner.store.shared import SharedState

log = logging.getLogger("campaigner.engine")
T = TypeVar("T")

Now = Callable[[], float]  # wall-clock epoch seconds (``RunContext.now``)


class Note(Protocol):
    """``RunContext.note``: a run-level event, journaled and logged."""

    def __call__(self, kind: str, message: str, **data: object) -> None: ...


class Wakeup:
    """A reusable "something changed" signal: ``set`` wakes every current waiter."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def wait_until(self, deadline: float) -> None:
        """Return when set, or at trio time ``deadline``."""
        event = self._event
        with trio.move_on_at(deadline):
            await event.wait()


class Durations:
    """How long calls last in this run, learnt from callbacks (placement to terminal).

    The v3 poller uses the 95th percentile to avoid polling calls that are
    probably still talking: each v3 poll costs a request per call.
    """

    def __init__(self, keep: int = 500, minimum: int = 20) -> None:
        self._samples: deque[float] = deque(maxlen=keep)
        self._minimum = minimum
        self._p95: float | None = None
        self._fresh = 0

    def learn(self, seconds: float) -> None:
        self._samples.append(seconds)
        self._fresh += 1

    def p95(self) -> float | None:
        """The 95th percentile, or None until enough calls have been seen."""
        if len(self._samples) < self._minimum:
            return None
        if self._p95 is None or self._fresh >= 25:
            ordered = sorted(self._samples)
            self._p95 = ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)]
            self._fresh = 0
        return self._p95


@dataclass
class RunStats:
    """Live counters (the journal is the truth; these feed the progress display)."""

    contacts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # contacts done, by outcome
    calls_placed: int = 0
    calls_finished: Counter[str] = field(default_factory=Counter)  # calls, by outcome
    answered_by_agent: int = 0
    callbacks: int = 0
    callbacks_unmatched: int = 0
    polled: int = 0
    recovered_by_poll: int = 0
    ambiguous: int = 0
    adopted: int = 0
    proven_absent: int = 0
    retries_scheduled: int = 0
    api_errors: Counter[str] = field(default_factory=Counter)
    waiting_reason: str | None = None  # why dialing is idle, for the display
    # screening (campaigner.engine.screener) and calling rules (the dialer)
    looked_up: int = 0
    from_cache: int = 0
    screening_skipped: Counter[str] = field(default_factory=Counter)  # by reason
    frequency_deferred: int = 0
    screening_wait: float = 0.0  # seconds the dialer waited for screened contacts
    # caller ID health (campaigner.engine.health_monitor): None while every caller ID is up
    caller_ids_note: str | None = None

    @property
    def done(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class RunContext:
    """The run's shared parts, wired by ``campaigner.engine.run``."""

    loaded: LoadedCampaign
    journal: Journal
    client: ExotelClient
    gate: EngineGate
    limiter: RateLimiter
    clock: TrioWallClock
    schedule: CallingSchedule
    registry: CallRegistry
    slots: Slots
    agents: AgentPool | None
    caller_ids: CallerIds
    stats: RunStats
    shared: SharedState
    screening: ScreeningGate
    breaker: CircuitBreaker | None = None
    durations: Durations = field(default_factory=Durations)
    wake_dialer: Wakeup = field(default_factory=Wakeup)
    stop_dialing: trio.Event = field(default_factory=trio.Event)
    dialing_done: trio.Event = field(default_factory=trio.Event)
    paused: str | None = None  # why the run paused itself (it ends with EXIT_PAUSED)
    outage: Outage = field(default_factory=Outage)  # Exotel out of reach (engine/outage.py)

    def now(self) -> float:
        """Wall-clock epoch seconds (from the injected clock)."""
        return self.clock.now().timestamp()

    @property
    def history_key(self) -> str:
        """How this campaign's calls are named in the shared call history (its journal)."""
        return str(self.loaded.journal_path)

    def note(self, kind: str, message: str, **data: object) -> None:
        """A run-level event: journaled and logged."""
        self.journal.log(self.now(), kind, message, **data)
        log.info(message, extra={"kind": kind, **{f"data_{k}": v for k, v in data.items()}})

    def call_finished(self, outcome: Outcome) -> None:
        """Every call that reached an outcome passes here (the circuit breaker counts them)."""
        if self.breaker is None:
            return
        trip = self.breaker.record(outcome)
        if trip is not None:
            self.pause(
                "breaker_tripped",
                trip.message(),
                failed=trip.failed,
                window=trip.window,
                failed_ratio=trip.ratio,
            )

    def pause(self, kind: str, why: str, **data: object) -> None:
        """Stop dialing for good in this run (calls in flight finish); the run exits paused."""
        if self.paused is not None:
            return
        self.paused = why
        self.note(kind, f"{why}: dialing stopped; calls in flight will finish", **data)
        self.stop_dialing.set()
        self.wake_dialer.set()


class ScreeningGate:
    """What the dialer and the screener tell each other (``screening.dnd`` other than call).

    ``required``: the dialer dials only screened contacts. ``pending``: unscreened
    contacts remain, so an empty queue means "wait for screening", not "done".
    ``available`` is set when contacts were screened; ``consumed`` when the dialer
    took one (the screener keeps a bounded lookahead).
    """

    def __init__(self, required: bool) -> None:
        self.required = required
        self.pending = required
        self.available = Wakeup()
        self.consumed = Wakeup()


async def unless_set(event: trio.Event, fn: Callable[[], Awaitable[T]]) -> T | None:
    """Await ``fn()``, or give up (returning None) as soon as ``event`` is set."""
    if event.is_set():
        return None
    result: list[T] = []
    async with trio.open_nursery() as nursery:

        async def stopper() -> None:
            await event.wait()
            nursery.cancel_scope.cancel()

        async def runner() -> None:
            result.append(await fn())
            nursery.cancel_scope.cancel()

        nursery.start_soon(stopper)
        nursery.start_soon(runner)
    return result[0] if result else None
