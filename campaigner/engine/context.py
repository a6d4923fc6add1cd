"""Everything the engine's services share during one run."""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass, field

import trio

from campaigner.campaign.resolved import LoadedCampaign
from campaigner.clock import TrioWallClock
from campaigner.engine.gate import EngineGate
from campaigner.engine.limiter import RateLimiter
from campaigner.engine.registry import AgentPool, CallerIds, CallRegistry, Slots
from campaigner.exotel.client import ExotelClient
from campaigner.schedule import CallingSchedule
from campaigner.store.journal import Journal

log = logging.getLogger("campaigner.engine")


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
    durations: Durations = field(default_factory=Durations)
    wake_dialer: Wakeup = field(default_factory=Wakeup)
    stop_dialing: trio.Event = field(default_factory=trio.Event)
    dialing_done: trio.Event = field(default_factory=trio.Event)

    def now(self) -> float:
        """Wall-clock epoch seconds (from the injected clock)."""
        return self.clock.now().timestamp()

    def note(self, kind: str, message: str, **data: object) -> None:
        """A run-level event: journaled and logged."""
        self.journal.log(self.now(), kind, message, **data)
        log.info(message, extra={"kind": kind, **{f"data_{k}": v for k, v in data.items()}})
