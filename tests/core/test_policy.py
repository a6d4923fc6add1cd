from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigner.campaign.model import Retry
from campaigner.domain import Outcome
from campaigner.policy import Decision, Tally, after_agent_busy, after_call, backoff_delay

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
RETRY = Retry.model_validate(
    {"max_attempts": 3, "on": ["busy", "no_answer"], "backoff": {"first": "10m", "max": "25m"}}
)


def test_backoff_grows_and_caps() -> None:
    assert backoff_delay(RETRY, 1) == timedelta(minutes=10)
    assert backoff_delay(RETRY, 2) == timedelta(minutes=20)
    assert backoff_delay(RETRY, 3) == timedelta(minutes=25)


def test_connected_is_final() -> None:
    assert after_call(Tally(), Outcome.CONNECTED, RETRY, NOW) == Decision(
        Tally(1, 0), final=Outcome.CONNECTED
    )


def test_busy_retries_until_budget_spent() -> None:
    first = after_call(Tally(), Outcome.BUSY, RETRY, NOW)
    assert first == Decision(Tally(1, 0), retry_at=NOW + timedelta(minutes=10))
    second = after_call(first.tally, Outcome.NO_ANSWER, RETRY, NOW)
    assert second == Decision(Tally(2, 0), retry_at=NOW + timedelta(minutes=20))
    third = after_call(second.tally, Outcome.BUSY, RETRY, NOW)
    assert third == Decision(Tally(3, 0), final=Outcome.BUSY)


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.UNKNOWN])
def test_outcomes_not_listed_are_final(outcome: Outcome) -> None:
    assert after_call(Tally(), outcome, RETRY, NOW).final is outcome


def test_agent_failures_do_not_spend_attempts_until_bound() -> None:
    tally = Tally()
    for n in range(1, RETRY.agent_failures + 1):
        decision = after_call(tally, Outcome.AGENT_UNANSWERED, RETRY, NOW)
        assert decision == Decision(Tally(0, n), retry_at=NOW)
        tally = decision.tally
    beyond = after_call(tally, Outcome.AGENT_UNANSWERED, RETRY, NOW)
    assert beyond == Decision(Tally(1, 3), retry_at=NOW + timedelta(minutes=10))


def test_agent_busy_is_bounded_without_spending_attempts() -> None:
    tally = Tally(1, RETRY.agent_failures)
    decision = after_agent_busy(tally, RETRY, NOW)
    assert decision.tally == Tally(1, RETRY.agent_failures + 1)
    assert decision.retry_at == NOW + timedelta(minutes=20)
    assert after_agent_busy(Tally(), RETRY, NOW) == Decision(Tally(0, 1), retry_at=NOW)
