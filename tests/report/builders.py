"""Small hand-built journals for report tests, written through the journal's own API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from campaigner.store.journal import CallResult, ContactUpdate, Journal

T0 = 1795404600.0  # Mon 23 Nov 2026 09:00:00 IST (03:30 UTC)
ACCOUNT = "acmecorp42"
TOKEN = "cbtoken-Zx81-secret"

SETTINGS: dict[str, Any] = {
    "description": "Payment reminders, November",
    "schedule": {"timezone": "Asia/Kolkata"},
    "pacing": {"requests_per_minute": 120},
    "dial": {
        "mode": "agent_first",
        "agents": ["+919900000001", {"contact_uri": "+919900000002", "name": "Priya"}],
    },
}


class Book:
    """A journal being written by a test, one fact at a time."""

    def __init__(self, path: Path, *, mode: str = "agent_first", **settings: Any) -> None:
        self.journal = Journal.open(path)
        self.path = path
        merged = {**SETTINGS, **settings}
        merged["dial"] = {**merged["dial"], "mode": mode}
        meta = {
            "campaign": "november-reminders",
            "api": "v1",
            "mode": mode,
            "file": str(path.parent / "november.yaml"),
            "sha256": "f" * 64,
            "account_sid": ACCOUNT,
            "callback_token": TOKEN,
            "settings": json.dumps(merged),
        }
        for key, value in meta.items():
            self.journal.set_meta(key, value)
        self.ids: dict[str, int] = {}

    def contacts(self, *rows: tuple[str, dict[str, Any]]) -> Book:
        """Contacts in file order: (E.164 phone, variables)."""
        self.journal.sync_contacts(
            ((phone, phone, f"contacts.csv:{i + 2}", v) for i, (phone, v) in enumerate(rows)), T0
        )
        for phone, _ in rows:
            self.ids[phone] = self.journal.conn.execute(
                "SELECT id FROM contacts WHERE phone = ?", (phone,)
            ).fetchone()[0]
        return self

    def run(self, start: float = T0, end: float | None = None, reason: str = "complete") -> Book:
        run_id = self.journal.begin_run(start, "f" * 64, "0.1.0", sandbox=False)
        if end is not None:
            self.journal.end_run(run_id, end, reason)
        return self

    def call(
        self,
        phone: str,
        outcome: str,
        at: float,
        *,
        attempt: int = 1,
        talk: int | None = None,
        by: str = "callback",
        caller_id: str = "+918047091234",
        agent: str | None = "+919900000001",
        recording: str | None = None,
        final: bool = True,
        next_at: float = 0.0,
        reason: str | None = None,
        adopted: bool = False,
    ) -> int:
        """A placed call that ended with ``outcome``; the contact ends or waits for ``next_at``."""
        contact = self.ids[phone]
        call_id = self.begin(phone, attempt, at, caller_id=caller_id, agent=agent)
        if adopted:
            self.journal.call_ambiguous(call_id, 0, "answer lost", at)
            self.journal.call_adopted(call_id, f"sid-{call_id}", at + 1)
        else:
            self.journal.call_placed(call_id, f"sid-{call_id}", "in-progress", at + 1)
        result = CallResult(
            outcome=outcome,
            reason=reason or f"{outcome} reason",
            exotel_status="completed" if outcome == "connected" else outcome,
            resolved_by=by,
            at=at + 60,
            started_at=at + 1,
            ended_at=at + 50,
            talk_time=talk,
            recording_url=recording,
            record_complete=True,
        )
        update = ContactUpdate(
            contact,
            attempt,
            0,
            outcome=outcome if final else None,
            reason=result.reason,
            next_at=next_at,
        )
        self.journal.finish_call(call_id, result, update)
        return call_id

    def begin(
        self,
        phone: str,
        attempt: int,
        at: float,
        *,
        caller_id: str = "+918047091234",
        agent: str | None = "+919900000001",
    ) -> int:
        """A call whose intent is journaled (the contact becomes active)."""
        return self.journal.begin_call(
            self.ids[phone],
            attempt,
            api="v1",
            caller_id=caller_id,
            agent=agent,
            request={"api": "v1"},
            at=at,
        )

    def refused(
        self,
        phone: str,
        at: float,
        status: int,
        message: str,
        *,
        code: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
        agent: str | None = "+919900000001",
        attempt: int = 1,
    ) -> int:
        """A connect Exotel refused: no call exists; the contact ends ``outcome`` or waits."""
        call_id = self.begin(phone, attempt, at, agent=agent)
        self.journal.call_not_placed(
            call_id,
            error_status=status,
            error_code=code,
            error_message=message,
            outcome=outcome,
            contact_update=ContactUpdate(
                self.ids[phone], attempt - 1, 0, outcome=outcome, reason=reason, next_at=at
            ),
            at=at,
        )
        return call_id

    def close(self) -> Path:
        self.journal.close()
        return self.path
