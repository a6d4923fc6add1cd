"""Rate limiting as Exotel applies it: a per-account budget over a rolling window.

docs/exotel/basics.md: "200 requests/minute per account for v1 and v2 ... treat v3 as sharing
the same account budget. Over it: HTTP 429", and "GET ExoPhone details (v2) is throttled
separately". A rolling window (not a fixed minute, not a token bucket) is the strictest
reading: the 201st request inside any 60 s span is refused. Refused requests do not use
budget, so a client that backs off recovers exactly ``window`` seconds after its first
counted request.
"""

from __future__ import annotations

from collections import deque

from campaigner.simulator.scenario import Burst


class RollingWindow:
    """At most ``limit`` admitted requests in any ``window`` seconds of trio time."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def admit(self, now: float) -> bool:
        """Count a request at ``now`` if the budget allows; False means answer 429."""
        times = self._times
        horizon = now - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def peek(self, now: float) -> bool:
        """Would a request at ``now`` be admitted? (counts nothing)"""
        horizon = now - self.window
        return sum(1 for t in self._times if t > horizon) < self.limit


class Bursts:
    """Scripted 429 storms: every request inside a burst is refused."""

    def __init__(self, bursts: tuple[Burst, ...], start: float, scale: float) -> None:
        self._spans = [(start + b.at / scale, start + (b.at + b.duration) / scale) for b in bursts]

    def active(self, now: float) -> bool:
        """True while ``now`` falls inside a burst."""
        return any(low <= now < high for low, high in self._spans)
