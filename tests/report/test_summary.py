"""build_summary against the standard hand-built journal: every number worked out by hand.

The derivations are in tests/report/conftest.py's docstring; each assertion below
follows from it, not from a previous run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from campaigner.report.gitinfo import GitInfo
from campaigner.report.model import (
    AgentUse,
    Ambiguous,
    ApiError,
    Count,
    FunnelStep,
    GroupStats,
    HourRate,
    ReportSummary,
    Retries,
    Spend,
)
from campaigner.report.summary import build_summary
from campaigner.store.journal import Journal
from tests.report.builders import T0, Book
from tests.report.conftest import NDNC

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def summarise(path: Path, **kw: object) -> ReportSummary:
    with Journal.read(path) as journal:
        return build_summary(journal, now=NOW, **kw)  # type: ignore[arg-type]


def counts(items: tuple[Count, ...]) -> dict[str, int]:
    return {c.key: c.count for c in items}


def test_funnel(standard_journal: Path) -> None:
    funnel = summarise(standard_journal).funnel
    assert [(s.key, s.label, s.count) for s in funnel.steps] == [
        ("contacts", "Contacts", 8),
        ("skipped", "Skipped", 3),
        ("dialed", "Dialed", 4),
        ("answered", "Answered by agent", 3),
        ("connected", "Connected", 2),
    ]
    assert funnel.steps[3] == FunnelStep("answered", "Answered by agent", 3, 3 / 8)
    assert counts(funnel.skipped_reasons) == {"dnd": 1, "duplicate": 1, "invalid": 1}
    assert funnel.not_dialed == 1
    assert funnel.answered_by == "agent"


def test_contact_first_answered_means_the_contact_picked_up(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3", mode="contact_first")
    book.contacts(*((f"+9198123000{i:02d}", {}) for i in range(1, 5)))
    book.call("+919812300001", "connected", T0, talk=10)
    book.call("+919812300002", "agent_unanswered", T0)  # contact answered, agent did not
    book.call("+919812300003", "no_answer", T0)
    book.call("+919812300004", "busy", T0)
    funnel = summarise(book.close()).funnel
    assert (funnel.dialed, funnel.answered, funnel.connected) == (4, 2, 1)
    assert funnel.steps[3].label == "Answered by contact"


def test_outcomes_overall_and_by_attempt(standard_journal: Path) -> None:
    outcomes = summarise(standard_journal).outcomes
    assert [(c.key, c.count) for c in outcomes.contacts] == [
        ("connected", 2),
        ("expired", 1),
        ("skipped", 3),
        ("pending", 2),
    ]
    assert outcomes.total == 8
    first, second = outcomes.by_attempt
    assert (first.attempt, first.total) == (1, 5)
    assert counts(first.counts) == {
        "connected": 1,
        "busy": 1,
        "no_answer": 1,
        "agent_unanswered": 1,
        "skipped": 1,
    }
    assert (second.attempt, counts(second.counts)) == (2, {"connected": 1})


def test_retries(standard_journal: Path) -> None:
    assert summarise(standard_journal).retries == Retries(
        scheduled=3, done=1, waiting=1, abandoned=1
    )


def test_timeline_is_in_ten_minute_buckets_of_local_time(standard_journal: Path) -> None:
    timeline = summarise(standard_journal).timeline
    assert timeline.bucket_seconds == 600
    assert [(b.start, b.total) for b in timeline.buckets] == [
        (datetime(2026, 11, 23, 9, 0, tzinfo=IST), 4),
        (datetime(2026, 11, 23, 9, 10, tzinfo=IST), 1),
    ]
    assert counts(timeline.buckets[1].counts) == {"connected": 1}
    assert timeline.outcomes == ("connected", "busy", "no_answer", "agent_unanswered")
    assert timeline.peak == 4


def test_a_long_run_is_drawn_per_hour(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3")
    book.contacts(("+919812300001", {}), ("+919812300002", {}))
    book.call("+919812300001", "busy", T0 + 1800)  # 09:30
    book.call("+919812300002", "connected", T0 + 1800 + 13 * 3600, talk=5)  # 22:30
    timeline = summarise(book.close()).timeline
    assert timeline.bucket_seconds == 3600
    assert len(timeline.buckets) == 14
    assert timeline.buckets[0].start == datetime(2026, 11, 23, 9, 0, tzinfo=IST)
    assert [b.total for b in timeline.buckets] == [1] + [0] * 12 + [1]


def test_api_usage_per_minute_against_the_budget(standard_journal: Path) -> None:
    api = summarise(standard_journal).api
    assert [(m.start.strftime("%H:%M"), m.count) for m in api.minutes] == [
        ("09:00", 2),
        ("09:01", 2),
        ("09:03", 1),
    ]
    assert (api.total, api.budget_per_minute, api.peak_per_minute) == (5, 120, 2)
    assert api.peak_share == pytest.approx(2 / 120)
    assert api.mean_per_active_minute == pytest.approx(5 / 3)
    assert counts(api.by_purpose) == {"connect": 4, "poll": 1}
    assert api.rate_limited == 1


def test_per_caller_id_and_per_agent(standard_journal: Path) -> None:
    summary = summarise(standard_journal)
    masked = "+91" + "\u2022" * 6
    # Caller IDs are masked like every number: run-log text masks them too.
    assert summary.caller_ids == (
        GroupStats(masked + "9102", None, 1, 1, 1.0, 120.0, 120.0, 0, 0),
        GroupStats(masked + "1234", None, 4, 1, 0.25, 30.0, 30.0, 1, 1),
    )
    assert summary.agents == (
        GroupStats(masked + "0001", None, 4, 1, 0.25, 30.0, 30.0, 1, 1),
        GroupStats(masked + "0002", "Priya", 1, 1, 1.0, 120.0, 120.0, 0, 0),
    )


def test_talk_time_distribution(standard_journal: Path) -> None:
    talk = summarise(standard_journal).talk_time
    assert (talk.calls, talk.total_seconds, talk.median, talk.p90, talk.mean) == (
        2,
        150,
        75.0,
        120.0,
        75.0,
    )
    assert {b.label: b.count for b in talk.bins if b.count} == {"30s\u20131m": 1, "2m\u20135m": 1}
    assert [b.label for b in talk.bins] == [
        "0s\u201315s",
        "15s\u201330s",
        "30s\u20131m",
        "1m\u20132m",
        "2m\u20135m",
        "5m\u201310m",
        "10m\u201320m",
        "20m+",
    ]


def test_errors_and_ambiguous_posts(standard_journal: Path) -> None:
    errors = summarise(standard_journal).errors
    assert errors.api == (ApiError("connect", 403, None, 1), ApiError("connect", 429, None, 1))
    assert [(r.status, r.code, r.message, r.count) for r in errors.refused] == [
        (403, None, "Call to [\u2022\u2022\u2022\u2022\u2022\u2022\u20220004] cannot be made "
         "because of TRAI NDNC regulations", 1),
        (409, "10706", "agent busy", 1),
    ]  # fmt: skip
    # The proven-absent call is counted as reconciled, not as a refusal.
    assert errors.ambiguous == Ambiguous(total=2, adopted=1, proven_absent=1, unresolved=0)


def test_tracking_counts_callbacks_missed_and_recovered_by_polling(standard_journal: Path) -> None:
    tracking = summarise(standard_journal).tracking
    assert counts(tracking.resolved_by) == {"callback": 4, "poll": 1}
    assert (tracking.resolved, tracking.recovered_by_poll, tracking.gave_up) == (5, 1, 0)
    assert counts(tracking.callback_effects) == {"applied": 2, "duplicate": 1}


def test_run_events_show_any_kind_generically(standard_journal: Path) -> None:
    events = summarise(standard_journal).run_events
    assert events.total == 4
    assert counts(events.kinds) == {
        "caller_id_down": 1,
        "proven_absent": 1,
        "quantum_flux": 1,
        "run_started": 1,
    }
    unknown = events.events[-1]
    assert (unknown.kind, unknown.level, unknown.message, unknown.data) == (
        "quantum_flux",
        "info",
        "a kind this version does not know",
        {"level": 3},
    )
    down = events.events[2]
    assert (down.kind, down.level) == ("caller_id_down", "warning")
    assert down.at == datetime(2026, 11, 23, 9, 10, tzinfo=IST)
    # Numbers in messages and data are masked like everywhere else.
    assert down.message == "ExoPhone +91\u2022\u2022\u2022\u2022\u2022\u20229102 stopped answering"
    assert down.data == {"caller_id": "+91\u2022\u2022\u2022\u2022\u2022\u20229102"}


def test_a_long_run_log_lists_its_first_and_last_events(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3")
    for i in range(1500):
        book.journal.log(T0 + i, "waiting", f"event {i}")
    events = summarise(book.close()).run_events
    assert events.total == 1500
    assert len(events.events) == 1000
    assert events.events[499].message == "event 499"
    assert events.events[500].message == "event 1000"
    assert events.events[-1].message == "event 1499"


def test_header(standard_journal: Path) -> None:
    header = summarise(standard_journal, git=GitInfo("c0ffee" * 6 + "abcd", False)).header
    assert header.campaign == "november-reminders"
    assert header.description == "Payment reminders, November"
    assert (header.api, header.mode, header.timezone) == ("v1", "agent_first", "Asia/Kolkata")
    assert header.account_sid == "ac\u2022\u2022\u2022\u2022\u2022\u202242"
    assert header.git_commit == "c0ffee" * 6 + "abcd"
    assert header.git_dirty is False
    assert header.tool_versions == ("0.1.0",)
    assert header.first_activity == datetime(2026, 11, 23, 9, 0, tzinfo=IST)
    assert header.last_activity == datetime(2026, 11, 23, 9, 20, tzinfo=IST)
    assert header.generated_at == datetime(2026, 11, 23, 10, 30, tzinfo=IST)
    assert [(r.number, r.exit_reason, r.sandbox) for r in header.runs] == [(1, "complete", False)]
    assert header.in_progress is True  # C and E are still waiting


def test_unmasked_summary_shows_numbers_in_full(standard_journal: Path) -> None:
    summary = summarise(standard_journal, mask=False)
    assert summary.masked is False
    assert summary.header.account_sid == "acmecorp42"
    assert summary.contacts[0].phone == "+919812300001"
    assert summary.agents[1].key == "+919900000002"
    assert summary.errors.refused[0].message == NDNC


def test_contacts_table(standard_journal: Path) -> None:
    contacts = summarise(standard_journal).contacts
    assert [(c.phone, c.name, c.outcome, c.reason, c.attempts, c.talk_time) for c in contacts] == [
        ("+91••••••0001", "Asha", "connected", "connected reason", 2, 120),
        ("+91••••••0002", "Ravi", "connected", "connected reason", 1, 30),
        ("+91••••••0003", "Meena", "pending", "agent_unanswered reason", 1, 0),
        ("+91••••••0004", "Kiran", "skipped", "dnd", 0, 0),
        ("+91••••••0005", "Deepa", "pending", None, 0, 0),
        ("+91••••••0006", "Suresh", "expired", "deadline reached", 1, 0),
        ("•2345", None, "skipped", "invalid", 0, 0),
        ("+91••••••0001", None, "skipped", "duplicate", 0, 0),
    ]
    asha = contacts[0]
    assert asha.recording_url == "https://recordings.example.test/a.mp3"
    assert asha.variables == (("name", "Asha"), ("order_id", "ORD-1"))
    assert [(k.attempt, k.outcome, k.caller_id, k.agent, k.resolved_by) for k in asha.calls] == [
        (1, "busy", "+91••••••1234", "+91••••••0001", "callback"),
        (2, "connected", "+91••••••9102", "+91••••••0002", "callback"),
    ]
    assert asha.calls[1].started_at == datetime(2026, 11, 23, 9, 15, 1, tzinfo=IST)
    assert contacts[1].calls[0].adopted is True


def test_an_empty_journal_summarises_to_nothing_yet(tmp_path: Path) -> None:
    Journal.open(tmp_path / "empty.sqlite3").close()
    summary = summarise(tmp_path / "empty.sqlite3")
    assert summary.funnel.total == 0
    assert summary.timeline.buckets == ()
    assert summary.api.minutes == ()
    assert summary.contacts == ()
    assert summary.header.in_progress is True
    assert summary.header.campaign == "empty"


def test_the_same_journal_gives_the_same_summary(standard_journal: Path) -> None:
    assert summarise(standard_journal) == summarise(standard_journal)


def test_why_calls_did_not_connect_by_whose_side(standard_journal: Path) -> None:
    # A's busy and F's no answer are the contact's; C's missed call and E's 409 the agent's;
    # D's 403 NDNC is Exotel refusing; E's lost answer (no call found) is the network.
    why = summarise(standard_journal).not_connected
    assert why is not None
    assert why.total == 6
    assert counts(why.reasons) == {"agent": 2, "contact": 2, "exotel_refused": 1, "network": 1}


def test_connect_rate_by_hour_is_per_call(standard_journal: Path) -> None:
    # Five placed calls, all between 09:00 and 09:15 IST; B and A's second connected.
    assert summarise(standard_journal).by_hour == (HourRate(9, 5, 2, 0.4),)


def test_agent_utilisation_is_talk_time_over_the_time_the_runs_ran(
    standard_journal: Path,
) -> None:
    masked = "+91" + "\u2022" * 6
    # One run of 20 minutes; B (30 s) went to the first agent, A's second call (120 s) to Priya.
    assert summarise(standard_journal).agent_use == (
        AgentUse(masked + "0001", None, 1, 30, 1200, 30 / 1200),
        AgentUse(masked + "0002", "Priya", 1, 120, 1200, 120 / 1200),
    )


def test_spend_is_unknown_when_no_record_carried_a_price(standard_journal: Path) -> None:
    assert summarise(standard_journal).spend == Spend(None, None, 0, 5, None)


def test_spend_sums_exotels_price_of_each_call_once(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3")
    phones = [f"+91981230000{i}" for i in range(1, 5)]
    book.contacts(*((p, {}) for p in phones))
    ids = [
        book.call(phones[0], "connected", T0, talk=60),
        book.call(phones[1], "no_answer", T0 + 60),
        book.call(phones[2], "connected", T0 + 120, talk=30),
    ]

    def record(call_id: int, payload: dict[str, object], source: str = "details") -> None:
        book.journal.record_event(
            at=T0 + 600, sid=f"sid-{call_id}", call_id=call_id, source=source,
            event="status", status="completed", effect="applied", payload=payload,
        )  # fmt: skip

    record(ids[0], {"Call": {"Price": None}})  # not finished yet
    record(ids[0], {"Call": {"Price": "1.500"}})
    record(ids[0], {"Call": {"Price": "2.250"}})  # the later record of the same call wins
    record(ids[1], {"Price": 0}, "bulk")  # a bulk entry, price as a number
    record(ids[2], {"Status": "completed"}, "callback")  # callbacks carry no price
    spend = summarise(book.close()).spend
    # 2.250 + 0; the third call's price is unknown, so no per-connected figure is made up.
    assert spend == Spend("2.250", None, 2, 1, None)


def test_spend_per_connected_call_when_every_call_is_priced(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3")
    book.contacts(("+919812300001", {}), ("+919812300002", {}))
    for i, (phone, price) in enumerate([("+919812300001", "3.000"), ("+919812300002", "0.5")]):
        call_id = book.call(phone, "connected" if i == 0 else "busy", T0 + 60 * i, talk=20)
        book.journal.record_event(
            at=T0 + 600, sid=f"sid-{call_id}", call_id=call_id, source="details",
            event="status", status="completed", effect="applied",
            payload={"Call": {"Price": price, "Currency": "INR"}},
        )  # fmt: skip
    assert summarise(book.close()).spend == Spend("3.500", "INR", 2, 0, "3.500")


def test_network_errors_are_not_calls_exotel_refused(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3")
    book.contacts(("+919812300001", {}), ("+919812300002", {}), ("+919812300003", {}))
    book.refused("+919812300001", T0, 0, "ConnectError: connection refused")
    book.refused("+919812300002", T0 + 1, 0, "ConnectError: connection refused")
    book.refused("+919812300003", T0 + 2, 401, "authentication failed")
    summary = summarise(book.close())
    assert [(r.status, r.message, r.count) for r in summary.errors.refused] == [
        (401, "authentication failed", 1)
    ]
    assert [(r.status, r.message, r.count) for r in summary.errors.network] == [
        (0, "ConnectError: connection refused", 2)
    ]
    assert summary.not_connected is not None
    assert counts(summary.not_connected.reasons) == {"network": 2, "exotel_refused": 1}


def test_repeated_run_events_are_listed_once_with_a_count(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3")
    for i in range(3):
        book.journal.log(T0 + 60 * i, "waiting", "waiting for retries to come due")
    book.journal.log(T0 + 200, "paused", "breaker tripped")
    book.journal.log(T0 + 300, "waiting", "waiting for retries to come due")
    book.journal.log(T0 + 360, "waiting", "waiting for retries to come due")
    book.journal.log(T0 + 420, "waiting", "waiting for calls in flight to finish")
    events = summarise(book.close()).run_events
    assert events.total == 7
    assert counts(events.kinds) == {"waiting": 6, "paused": 1}
    listed = [(e.kind, e.count, e.at.strftime("%H:%M"), e.last_at) for e in events.events]
    at = datetime(2026, 11, 23, 9, 0, tzinfo=IST)
    assert listed == [
        ("waiting", 3, "09:00", at.replace(minute=2)),
        ("paused", 1, "09:03", None),
        ("waiting", 2, "09:05", at.replace(minute=6)),
        ("waiting", 1, "09:07", None),
    ]
