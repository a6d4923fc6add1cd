"""The standard hand-built journal: every section of the report has something to count.

Contacts (agent-first, IST):

- A +919812300001: busy at 09:00 (retry), connected at 09:15 by Priya on the second
  caller ID, 120 s, recorded
- B +919812300002: connected at 09:01, 30 s, outcome learnt by polling, adopted after a
  lost POST answer
- C +919812300003: agent did not answer at 09:02; waiting for its next call
- D +919812300004: connect refused 403 NDNC at 09:03: skipped (dnd)
- E +919812300005: never placed: a lost POST proven absent at 09:04, then 409 agent busy
- F +919812300006: no answer at 09:04, expired while waiting for a retry
- two skipped file rows: one invalid, one duplicate
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.builders import T0, Book

A, B, C, D, E, F = (f"+91981230000{i}" for i in range(1, 7))
OTHER_CALLER_ID = "+912241499102"
PRIYA = "+919900000002"
NDNC = "Call to [09812300004] cannot be made because of TRAI NDNC regulations"


def standard(path: Path) -> Path:
    book = Book(path)
    book.contacts(
        (A, {"name": "Asha", "order_id": "ORD-1"}),
        (B, {"name": "Ravi", "order_id": "ORD-2"}),
        (C, {"name": "Meena", "order_id": "ORD-3"}),
        (D, {"name": "Kiran", "order_id": "ORD-4"}),
        (E, {"name": "Deepa", "order_id": "ORD-5"}),
        (F, {"name": "Suresh", "order_id": "ORD-6"}),
    )
    book.journal.record_skipped_rows(
        [
            ("contacts.csv:9", "12345", "invalid", "not a phone number"),
            ("contacts.csv:10", A, "duplicate", "same number as line 2"),
        ]
    )
    book.run(T0, T0 + 1200)
    j = book.journal
    j.log(T0, "run_started", "run started", resumed=False)
    book.call(A, "busy", T0, final=False, next_at=T0 + 600)
    book.call(B, "connected", T0 + 60, talk=30, by="poll", adopted=True)
    book.call(C, "agent_unanswered", T0 + 120, final=False, next_at=T0 + 3600)
    book.refused(D, T0 + 180, 403, NDNC, outcome="skipped", reason="dnd")
    lost = book.begin(E, 1, T0 + 240)
    j.call_ambiguous(lost, 0, "answer lost", T0 + 240)
    book.journal.call_not_placed(
        lost,
        error_status=0,
        error_code=None,
        error_message="answer lost; no such call found by reconciliation",
        outcome=None,
        contact_update=_back(book, E, T0 + 250),
        at=T0 + 250,
    )
    j.log(T0 + 250, "proven_absent", f"no call was created for {E}", call_id=lost)
    book.refused(E, T0 + 300, 409, "agent busy", code="10706")
    book.call(F, "no_answer", T0 + 240, final=False, next_at=T0 + 1800)
    j.finish_contact(book.ids[F], "expired", "deadline reached", T0 + 1200)
    book.call(
        A,
        "connected",
        T0 + 900,
        attempt=2,
        talk=120,
        caller_id=OTHER_CALLER_ID,
        agent=PRIYA,
        recording="https://recordings.example.test/a.mp3",
    )
    for at, purpose, status in [
        (T0, "connect", 200),
        (T0 + 5, "connect", 200),
        (T0 + 61, "poll", 200),
        (T0 + 62, "connect", 429),
        (T0 + 180, "connect", 403),
    ]:
        j.log_request(at, purpose, status)
    for effect in ("applied", "applied", "duplicate"):
        j.record_event(
            at=T0, sid="sid-1", call_id=1, source="callback", event="terminal",
            status="busy", effect=effect, payload={},
        )  # fmt: skip
    j.log(T0 + 600, "caller_id_down", f"ExoPhone {OTHER_CALLER_ID} stopped answering",
          caller_id=OTHER_CALLER_ID)  # fmt: skip
    j.log(T0 + 700, "quantum_flux", "a kind this version does not know", level=3)
    return book.close()


def _back(book: Book, phone: str, at: float):  # type: ignore[no-untyped-def]
    from campaigner.store.journal import ContactUpdate

    return ContactUpdate(book.ids[phone], 0, 0, next_at=at)


@pytest.fixture
def standard_journal(tmp_path: Path) -> Path:
    return standard(tmp_path / "november.sqlite3")
