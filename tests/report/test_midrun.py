"""A report made while a run still holds the journal: what is known so far, consistently."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from campaigner.report.render import write_report
from campaigner.report.summary import build_summary
from campaigner.store.journal import Journal
from tests.report.builders import T0, Book

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def live(tmp_path: Path) -> Book:
    """A run that started, placed two calls (one finished) and is still going."""
    book = Book(tmp_path / "live.sqlite3")
    book.contacts(("+919812300001", {}), ("+919812300002", {}), ("+919812300003", {}))
    book.run(T0)  # no end: the run is live
    book.call("+919812300001", "connected", T0, talk=42)
    call = book.begin("+919812300002", 1, T0 + 30)
    book.journal.call_placed(call, "sid-live", "in-progress", T0 + 31)
    book.journal.log_request(T0 + 30, "connect", 200)
    return book


def test_report_while_the_run_holds_the_journal(tmp_path: Path) -> None:
    book = live(tmp_path)  # the writer is open and holds the journal's lock
    out = write_report(book.path, tmp_path / "now.html", now=NOW)
    html = out.read_text(encoding="utf-8")
    assert "This campaign is not finished (a run is live, or stopped without ending)" in html
    with Journal.read(book.path) as journal:
        summary = build_summary(journal, now=NOW)
    assert [c.outcome for c in summary.contacts] == ["connected", "in_call", "pending"]
    assert summary.header.in_progress is True
    assert summary.header.runs[0].ended_at is None
    assert {c.key: c.count for c in summary.timeline.buckets[0].counts} == {
        "connected": 1,
        "in_call": 1,
    }
    assert [
        (a.attempt, {c.key: c.count for c in a.counts}) for a in summary.outcomes.by_attempt
    ] == [(1, {"connected": 1, "in_call": 1})]
    assert summary.contacts[1].calls[0].outcome is None
    assert "#1 \u2013 in call" in html  # not started yet as far as Exotel has said
    book.close()


def test_a_writer_transaction_in_progress_is_not_seen_half_done(tmp_path: Path) -> None:
    book = live(tmp_path)
    conn = book.journal.conn
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE contacts SET state = 'done', outcome = 'busy' WHERE phone = ?",
                 ("+919812300003",))  # fmt: skip
    with Journal.read(book.path) as journal:
        before = build_summary(journal, now=NOW)
    conn.execute("COMMIT")
    with Journal.read(book.path) as journal:
        after = build_summary(journal, now=NOW)
    assert before.contacts[2].outcome == "pending"
    assert after.contacts[2].outcome == "busy"
    book.close()


def test_a_finished_run_is_not_in_progress(tmp_path: Path) -> None:
    book = Book(tmp_path / "done.sqlite3")
    book.contacts(("+919812300001", {}))
    book.run(T0, T0 + 100)
    book.call("+919812300001", "busy", T0)
    html = write_report(book.close(), tmp_path / "done.html", now=NOW).read_text()
    assert "not finished" not in html
    assert '<span class="badge ok">finished</span>' in html


def test_a_caller_id_whose_only_calls_are_open(tmp_path: Path) -> None:
    # After a Ctrl-C, a caller ID or agent may have calls placed but none finished:
    # SQL sums over their NULL outcomes must count 0, not fail.
    book = live(tmp_path)
    call = book.begin("+919812300003", 1, T0 + 60, caller_id="+911139585476", agent="+919900000009")
    book.journal.call_placed(call, "sid-open", "in-progress", T0 + 61)
    with Journal.read(book.path) as journal:
        summary = build_summary(journal, now=NOW)
    by_caller = {g.key: g for g in summary.caller_ids}
    opened = by_caller["+91\u2022\u2022\u2022\u2022\u2022\u20225476"]  # masked like any number
    assert (opened.calls, opened.connected) == (1, 0)
    assert write_report(book.path, tmp_path / "open.html", now=NOW).exists()
    book.close()
