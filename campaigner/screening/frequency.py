"""Frequency cap and minimum gap: when may a number be called again?

Rules (``screening.frequency_cap``, ``screening.min_gap``) hold across every campaign
sharing a state directory: the history is every call any of them placed to the
number (recorded at intent time in ``<state>/shared.sqlite3``). A number whose next
call would break a rule is deferred to the earliest instant the rules allow, never
skipped, unless no calling window is left by then (the dialer decides that).

A cap of ``calls`` per ``per`` is a rolling window: a call at ``t`` is allowed when
fewer than ``calls`` earlier calls happened in ``(t - per, t]``. Times are epoch
seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from campaigner.campaign.model import Screening


@dataclass(frozen=True, slots=True)
class CallingRules:
    """A campaign's cap and gap in seconds; None means "no such rule"."""

    cap_calls: int | None = None
    cap_per: float | None = None
    min_gap: float | None = None

    @classmethod
    def of(cls, screening: Screening) -> CallingRules:
        cap = screening.frequency_cap
        return cls(
            cap_calls=cap.calls if cap else None,
            cap_per=cap.per.total_seconds() if cap else None,
            min_gap=screening.min_gap.total_seconds() if screening.min_gap else None,
        )

    @property
    def active(self) -> bool:
        return self.cap_calls is not None or self.min_gap is not None

    @property
    def horizon(self) -> float:
        """How far back history matters, in seconds."""
        return max(self.cap_per or 0.0, self.min_gap or 0.0)

    @property
    def history_needed(self) -> int:
        """How many of the most recent calls decide (the cap's count, or 1 for a gap)."""
        return max(self.cap_calls or 0, 1)


def earliest_allowed(history: Sequence[float], now: float, rules: CallingRules) -> float:
    """The earliest instant at or after ``now`` at which one more call obeys ``rules``.

    ``history`` holds the times of other calls to the number, in any order; a call
    recorded a moment after ``now`` (another process's clock) counts like the others.
    Both rules only get easier with time, so the answer is the latest of the instants
    each rule allows.
    """
    allowed = now
    if not history:
        return allowed
    recent = sorted(history, reverse=True)
    if rules.min_gap is not None:
        allowed = max(allowed, recent[0] + rules.min_gap)
    if rules.cap_calls is not None and rules.cap_per is not None and len(recent) >= rules.cap_calls:
        # The cap_calls-th most recent call must have left the window.
        allowed = max(allowed, recent[rules.cap_calls - 1] + rules.cap_per)
    return allowed


def allowed_at(history: Sequence[float], at: float, rules: CallingRules) -> bool:
    """Whether one more call at ``at`` obeys ``rules`` (the definition, for tests)."""
    # ``h + span > at`` rather than ``at - h < span``: the same sums as above, so an
    # instant computed by earliest_allowed is judged without a rounding error.
    gap = rules.min_gap
    if gap is not None and any(h + gap > at for h in history):
        return False
    if rules.cap_calls is not None and rules.cap_per is not None:
        per = rules.cap_per
        return sum(1 for h in history if h + per > at) < rules.cap_calls
    return True
