"""The failure circuit breaker (``health.circuit_breaker``): stop before burning the list.

A run whose calls mostly fail (a wrong caller ID, an account problem, a network outage
at Exotel) would otherwise spend every contact's attempts in minutes. The breaker
watches the last ``window`` calls that finished; once the window is full and more than
``failed_ratio`` of them ended ``failed``, it trips: the run stops dialing, lets calls in
flight finish, and exits with ``EXIT_PAUSED`` so the operator can fix the cause and
resume with ``campaigner run``. The window lives in memory, so a resumed run starts
with an empty one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from campaigner.campaign.model import CircuitBreaker as BreakerConfig
from campaigner.domain import Outcome


@dataclass(frozen=True, slots=True)
class Trip:
    """Why the breaker tripped: ``failed`` of the last ``window`` calls failed."""

    failed: int
    window: int
    ratio: float

    def message(self) -> str:
        share = self.failed / self.window
        return (
            f"circuit breaker: {self.failed} of the last {self.window} calls failed "
            f"({share:.0%}, more than {self.ratio:.0%})"
        )


class CircuitBreaker:
    """Counts failed calls over a sliding window of finished calls."""

    def __init__(self, config: BreakerConfig) -> None:
        self.window = config.window
        self.ratio = config.failed_ratio
        self._recent: deque[bool] = deque(maxlen=config.window)
        self._failed = 0
        self.tripped: Trip | None = None

    def record(self, outcome: Outcome) -> Trip | None:
        """Count one finished call; returns the trip the first time the threshold is crossed."""
        if len(self._recent) == self.window and self._recent[0]:
            self._failed -= 1
        failed = outcome is Outcome.FAILED
        self._recent.append(failed)
        self._failed += failed
        full = len(self._recent) == self.window
        if self.tripped is None and full and self._failed > self.ratio * self.window:
            self.tripped = Trip(self._failed, self.window, self.ratio)
            return self.tripped
        return None

    @property
    def failed(self) -> int:
        """Failed calls in the current window."""
        return self._failed
