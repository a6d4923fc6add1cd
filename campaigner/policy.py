"""What happens to a contact after each call: done, or retried when. Pure.

``retry.max_attempts`` bounds the calls a contact can receive for reasons on its
side (busy, no answer, failed). Agent-side failures (the agent did not answer or
hung up first, or Exotel said the agent was busy) re-queue the contact without
spending its attempts, up to ``retry.agent_failures`` times; beyond that they are
counted as attempts, so no contact can loop forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigner.campaign.model import Retry
from campaigner.domain import Outcome
from campaigner.outcomes import is_agent_side


@dataclass(frozen=True, slots=True)
class Tally:
    """What a contact has used so far."""

    attempts: int = 0  # calls that spent the contact's budget
    agent_failures: int = 0  # agent-side failures that did not


@dataclass(frozen=True, slots=True)
class Decision:
    """``final`` is set when the contact is done; otherwise retry no earlier than ``retry_at``."""

    tally: Tally
    final: Outcome | None = None
    retry_at: datetime | None = None


def backoff_delay(retry: Retry, attempts_spent: int) -> timedelta:
    """Delay before the next attempt once ``attempts_spent`` calls have been made."""
    exponent = max(attempts_spent - 1, 0)
    seconds = retry.backoff.first.total_seconds() * retry.backoff.factor**exponent
    return min(timedelta(seconds=seconds), retry.backoff.max)


def after_call(tally: Tally, outcome: Outcome, retry: Retry, now: datetime) -> Decision:
    """Decide a contact's fate after a call ended with ``outcome``."""
    if is_agent_side(outcome) and tally.agent_failures < retry.agent_failures:
        return Decision(Tally(tally.attempts, tally.agent_failures + 1), retry_at=now)
    spent = Tally(tally.attempts + 1, tally.agent_failures)
    retryable = outcome in retry.outcomes() or is_agent_side(outcome)
    if retryable and spent.attempts < retry.max_attempts:
        return Decision(spent, retry_at=now + backoff_delay(retry, spent.attempts))
    return Decision(spent, final=outcome)


def after_agent_busy(tally: Tally, retry: Retry, now: datetime) -> Decision:
    """Exotel refused the call because the agent was busy (409): the contact was not called."""
    failures = tally.agent_failures + 1
    if failures <= retry.agent_failures:
        return Decision(Tally(tally.attempts, failures), retry_at=now)
    # Beyond the bound: keep the contact's attempts, but wait like a retry would.
    return Decision(
        Tally(tally.attempts, failures), retry_at=now + backoff_delay(retry, tally.attempts + 1)
    )
