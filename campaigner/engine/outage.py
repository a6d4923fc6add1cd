"""Exotel out of reach: back off while it lasts, give up (resumably) when it lasts too long.

A connect that cannot reach Exotel (connection refused, DNS failure, a timeout before
the request left) created no call, so the contact simply waits its turn without
spending an attempt. Without a brake, though, the dialer would try the next contact at
once, and the next: hundreds of failed connects a minute, a log line each, and nothing
gained. So the first failure opens an *outage*: dialing waits 1 s, then 2 s, 4 s ... (at
most ``MAX_BACKOFF``) between probes, like the client's backoff for 5xx answers, and
the first answer of any kind from Exotel (even an error status: it is reachable) closes
the outage at once.

An outage that lasts ``give_up_after`` seconds ends the run: it stops dialing, lets
calls in flight finish, and exits with ``EXIT_API`` and one line. Nothing is lost
(every contact keeps its attempts and its place) and ``campaigner run`` resumes.
All times are trio times, so tests run outages in virtual time.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
GIVE_UP_AFTER = 300.0  # the default of ``campaigner run --unreachable-timeout``


@dataclass
class Outage:
    """Tracks whether Exotel is reachable, from the run's requests' fates."""

    give_up_after: float = GIVE_UP_AFTER
    since: float | None = None  # trio time of the first failure of the current outage
    next_probe: float = 0.0  # no connect before this trio time while the outage lasts
    failures: int = 0  # failed probes in the current outage
    last_error: str = ""
    gave_up: bool = False  # the run stopped because of this outage
    probing: bool = False  # a connect is testing whether Exotel is back

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, now: float, error: str) -> bool:
        """A request found Exotel out of reach at ``now``; True when an outage begins.

        Failures of requests sent before the current backoff ends (calls already on
        their way) do not lengthen it: only probes count.
        """
        self.last_error = error
        began = self.since is None
        if began:
            self.since = now
        elif now < self.next_probe:
            return False
        self.failures += 1
        delay = min(FIRST_BACKOFF * 2 ** (self.failures - 1), MAX_BACKOFF)
        self.next_probe = now + delay
        return began

    def reached(self) -> float | None:
        """Exotel answered (any HTTP status); returns the outage's start if one ended."""
        since, self.since = self.since, None
        self.failures, self.next_probe = 0, 0.0
        return since

    def expired(self, now: float) -> bool:
        """The outage has lasted ``give_up_after`` seconds: time to stop."""
        return self.since is not None and now - self.since >= self.give_up_after

    def give_up_now(self, now: float) -> bool:
        """True once, the first time the outage is found to have lasted too long."""
        if self.gave_up or not self.expired(now):
            return False
        self.gave_up = True
        return True

    def message(self) -> str:
        return f"Exotel unreachable for {self.patience()} ({self.last_error}); nothing was lost"

    def patience(self) -> str:
        """``give_up_after`` in words ("5 minutes")."""
        return _span(self.give_up_after)


def _span(seconds: float) -> str:
    if seconds % 60:
        return f"{seconds:.0f} seconds"
    minutes = seconds / 60
    return f"{minutes:.0f} minute{'s' if minutes != 1 else ''}"
