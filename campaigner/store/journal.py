"""The run journal: every state change of a campaign, written before acting.

Why it exists: a crash at any instant must never lead to a contact being dialed
twice or a placed call being forgotten. So the intent of a call is committed
before its POST leaves, its SID as soon as the answer arrives, and every callback
and poll result before it is acted on. Each method below is one transaction.

SQLite runs in WAL mode with ``synchronous=FULL`` on one connection, called
directly from the trio thread: a commit is on disk when it returns, so an intent
survives a power cut (campaigner.store.sqlite; the fsync's cost is measured in
docs/benchmarks.md). Only one process may hold a journal for writing (a lock file
beside it), and only one may run a campaign of an account (campaigner.store.locks).
The journal, its sidecars and its lock are ``0600``: they hold customers' numbers
and the callback token. A disk that cannot be written is a StateWriteError (exit 4),
raised before the POST whose intent could not be written.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaigner.errors import StateError
from campaigner.store.files import private_dir
from campaigner.store.locks import Held, RunnerKey, exclusive, hold_runner
from campaigner.store.schema import DDL, SCHEMA_VERSION
from campaigner.store.sqlite import connect, connect_readonly, immediate, unwritable_error

OPEN_STATES = ("intent", "placed", "ambiguous")


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A contact as the journal holds it."""

    id: int
    phone: str
    raw_phone: str
    source: str
    variables: dict[str, Any]
    state: str
    outcome: str | None
    reason: str | None
    attempts: int
    agent_failures: int
    next_at: float
    in_file: bool
    screened: bool
    seq: int = 0  # order in the campaign file


@dataclass(frozen=True, slots=True)
class CallRow:
    """A call attempt as the journal holds it."""

    id: int
    contact_id: int
    attempt: int
    state: str
    sid: str | None
    api: str
    caller_id: str
    agent: str | None
    intent_at: float
    placed_at: float | None
    outcome: str | None
    record_complete: bool
    talk_time: int | None
    answered: bool
    polls: int
    last_poll_at: float | None


class SidTaken(StateError):
    """Exotel answered a connect with a SID the journal already holds for another call.

    Exotel's SIDs are unique, so this is an anomaly (a simulator restarted with the same
    seed did it once): the caller decides what the answer means; nothing was written.
    """

    def __init__(self, sid: str, holder: int, call_id: int) -> None:
        super().__init__(f"call SID {sid} is already held by call {holder}, not {call_id}")
        self.sid = sid
        self.holder = holder
        self.call_id = call_id


class Journal:
    """One campaign's SQLite journal. Create with :meth:`open` (writer) or :meth:`read`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        lock_fd: int | None,
        runner_fd: int | None = None,
    ) -> None:
        self.conn = conn
        self.path = path
        self._lock_fd = lock_fd
        self._runner_fd = runner_fd

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, runner: RunnerKey | None = None) -> Journal:
        """Open (creating if needed) for writing; raises StateError if another run holds it.

        ``runner``: also hold the campaign's runner lock (a real run), so a copy of the
        campaign with another ``state`` cannot run beside this one.
        """
        runner_fd = hold_runner(runner, path) if runner is not None else None
        lock_fd: int | None = None
        try:
            private_dir(path.parent)
            lock_fd = _lock(path.with_suffix(path.suffix + ".lock"))
            conn = _connect(path)
            conn.executescript(DDL)
            journal = cls(conn, path, lock_fd, runner_fd)
            version = journal.get_meta("schema_version")
            if version is None:
                journal.set_meta("schema_version", str(SCHEMA_VERSION))
            elif int(version) != SCHEMA_VERSION:
                raise StateError(f"{path}: journal schema {version} is not {SCHEMA_VERSION}")
            return journal
        except BaseException:
            for fd in (lock_fd, runner_fd):
                if fd is not None:
                    os.close(fd)
            raise

    @classmethod
    def read(cls, path: Path) -> Journal:
        """Open an existing journal read-only (status, export, report while a run is live)."""
        if not path.exists():
            raise StateError(f"{path}: no journal yet (the campaign has not been run)")
        try:
            conn = connect_readonly(path)
            conn.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: not a campaigner journal ({exc})") from exc
        return cls(conn, path, None)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()
        for fd in (self._lock_fd, self._runner_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = self._runner_fd = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        with immediate(self.conn) as conn:
            yield conn

    # -- meta and run log ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def log(self, at: float, kind: str, message: str, **data: Any) -> None:
        """Journal a run-level event (window waits, pauses, failovers, file changes)."""
        self.conn.execute(
            "INSERT INTO run_log (at, kind, message, data) VALUES (?, ?, ?, ?)",
            (at, kind, message, json.dumps(data, default=str)),
        )

    def begin_run(self, at: float, sha256: str, version: str, sandbox: bool) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (started_at, sha256, version, sandbox) VALUES (?, ?, ?, ?)",
            (at, sha256, version, int(sandbox)),
        )
        return int(cur.lastrowid or 0)

    def end_run(self, run_id: int, at: float, reason: str) -> None:
        self.conn.execute(
            "UPDATE runs SET ended_at = ?, exit_reason = ? WHERE id = ?", (at, reason, run_id)
        )

    def log_request(self, at: float, purpose: str, status: int, code: str | None = None) -> None:
        self.conn.execute(
            "INSERT INTO requests (at, purpose, status, code) VALUES (?, ?, ?, ?)",
            (at, purpose, status, code),
        )

    # -- contacts -------------------------------------------------------------------------

    def sync_contacts(
        self, contacts: Iterable[tuple[str, str, str, Mapping[str, Any]]], at: float
    ) -> tuple[int, int]:
        """Make the journal's contacts match the file: returns (added, removed).

        ``contacts`` yields (phone, raw_phone, source, variables) in file order. New
        numbers are added ready to dial; numbers no longer in the file are marked
        ``in_file = 0`` and, if never called and not in flight, end ``skipped``
        (removed). Contacts already known keep their history.
        """
        with self.transaction() as conn:
            conn.execute("UPDATE contacts SET in_file = 0")
            seq = conn.execute("SELECT coalesce(max(seq), 0) FROM contacts").fetchone()[0]
            before = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
            batch: list[tuple[Any, ...]] = []
            for phone, raw, source, variables in contacts:
                seq += 1
                batch.append((phone, raw, source, json.dumps(dict(variables)), seq, at))
                if len(batch) >= 5000:
                    _upsert_contacts(conn, batch)
                    batch.clear()
            _upsert_contacts(conn, batch)
            added = conn.execute("SELECT count(*) FROM contacts").fetchone()[0] - before
            removed = conn.execute(
                "UPDATE contacts SET state = 'done', outcome = 'skipped', reason = 'removed', "
                "updated_at = ? WHERE in_file = 0 AND state = 'ready' AND outcome IS NULL",
                (at,),
            ).rowcount
        return int(added), int(removed)

    def record_skipped_rows(self, rows: Iterable[tuple[str, str, str, str]]) -> None:
        """Rows that will never be called (invalid numbers, merged duplicates)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM skipped_rows")
            conn.executemany(
                "INSERT OR REPLACE INTO skipped_rows (source, raw_phone, reason, message) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def due_contacts(
        self, now: float, limit: int, exclude: Iterable[int] = (), *, screened_only: bool = False
    ) -> list[ContactRow]:
        """Ready contacts whose time has come: due retries first, then new contacts in order.

        ``screened_only``: only contacts whose DND screening is done (``screening.dnd``
        other than ``call``).
        """
        excluded = tuple(exclude)
        marks = ",".join("?" * len(excluded))
        where = f"AND id NOT IN ({marks})" if excluded else ""
        if screened_only:
            where += " AND screened = 1"
        # Two walks of the contacts_queue index (state, next_at, seq), each already in the
        # order wanted. One query ordered by "next_at = 0" sorted every ready contact on
        # each call: 165 ms per call at 288k contacts, quadratic over a run (bench/scale.py).
        rows = self._ready(f"next_at > 0 AND next_at <= ? {where}", (now, *excluded), limit)
        if len(rows) < limit:
            rows += self._ready(f"next_at = 0 {where}", excluded, limit - len(rows))
        return [contact_row(r) for r in rows]

    def _ready(self, condition: str, params: tuple[Any, ...], limit: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            f"SELECT * FROM contacts WHERE state = 'ready' AND {condition} "
            "ORDER BY next_at, seq LIMIT ?",
            (*params, limit),
        ).fetchall()

    def next_due_at(self, *, screened_only: bool = False) -> float | None:
        """The earliest time a ready contact becomes due, or None if none is ready."""
        where = " AND screened = 1" if screened_only else ""
        row = self.conn.execute(
            f"SELECT min(next_at) FROM contacts WHERE state = 'ready'{where}"
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def contact(self, contact_id: int) -> ContactRow:
        row = self.conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        return contact_row(row)

    def finish_contact(self, contact_id: int, outcome: str, reason: str, at: float) -> None:
        """End a contact that is not in a call (skipped, expired)."""
        self.conn.execute(
            "UPDATE contacts SET state = 'done', outcome = ?, reason = ?, updated_at = ? "
            "WHERE id = ? AND state != 'active'",
            (outcome, reason, at, contact_id),
        )

    def expire_ready(self, at: float, reason: str) -> int:
        """Every contact not in a call and not done ends ``expired``."""
        cur = self.conn.execute(
            "UPDATE contacts SET state = 'done', outcome = 'expired', reason = ?, updated_at = ? "
            "WHERE state = 'ready'",
            (reason, at),
        )
        return int(cur.rowcount)

    def defer_contact(self, contact_id: int, next_at: float, at: float) -> None:
        """Put a contact back in the queue unchanged (the call was not placed)."""
        self.conn.execute(
            "UPDATE contacts SET state = 'ready', next_at = ?, updated_at = ? WHERE id = ?",
            (next_at, at, contact_id),
        )

    # -- calls --------------------------------------------------------------------------

    def begin_call(
        self,
        contact_id: int,
        attempt: int,
        *,
        api: str,
        caller_id: str,
        agent: str | None,
        request: Mapping[str, Any],
        at: float,
    ) -> int:
        """Commit the intent to call before the POST leaves; the contact becomes active.

        On disk when this returns (``synchronous=FULL``): a power cut cannot forget it.
        If it cannot be written (StateWriteError), nothing is recorded and no POST leaves.
        """
        with self.transaction() as conn:
            updated = conn.execute(
                "UPDATE contacts SET state = 'active', updated_at = ? "
                "WHERE id = ? AND state = 'ready'",
                (at, contact_id),
            ).rowcount
            if updated != 1:
                raise StateError(f"contact {contact_id} is not ready to dial")
            cur = conn.execute(
                "INSERT INTO calls (contact_id, attempt, state, open, api, caller_id, agent, "
                "request, intent_at) VALUES (?, ?, 'intent', 1, ?, ?, ?, ?, ?)",
                (contact_id, attempt, api, caller_id, agent, json.dumps(request), at),
            )
            return int(cur.lastrowid or 0)

    def call_placed(self, call_id: int, sid: str, status: str | None, at: float) -> None:
        """Exotel accepted the call: remember its SID (and adopt early callbacks for it).

        Raises :class:`SidTaken`, writing nothing, when another call already holds ``sid``.
        """
        with self.transaction() as conn:
            held = conn.execute(
                "SELECT id FROM calls WHERE sid = ? AND id != ?", (sid, call_id)
            ).fetchone()
            if held is not None:
                raise SidTaken(sid, int(held[0]), call_id)
            conn.execute(
                "UPDATE calls SET sid = ?, state = 'placed', placed_at = ?, exotel_status = ? "
                "WHERE id = ?",
                (sid, at, status, call_id),
            )
            conn.execute(
                "UPDATE events SET call_id = ? WHERE sid = ? AND call_id IS NULL", (call_id, sid)
            )

    def call_adopted(self, call_id: int, sid: str, at: float) -> None:
        """Reconciliation found the call a lost answer had created."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE calls SET sid = ?, state = 'placed', placed_at = coalesce(placed_at, ?), "
                "adopted = 1 WHERE id = ?",
                (sid, at, call_id),
            )
            conn.execute(
                "UPDATE events SET call_id = ? WHERE sid = ? AND call_id IS NULL", (call_id, sid)
            )

    def call_ambiguous(self, call_id: int, status: int, message: str, at: float) -> None:
        """The POST's answer was lost: the call may exist; it must be reconciled."""
        self.conn.execute(
            "UPDATE calls SET state = 'ambiguous', error_status = ?, error_message = ? "
            "WHERE id = ? AND open = 1",
            (status, message, call_id),
        )

    def call_not_placed(
        self,
        call_id: int,
        *,
        error_status: int,
        error_code: str | None,
        error_message: str,
        outcome: str | None,
        contact_update: ContactUpdate,
        at: float,
    ) -> None:
        """Exotel did not create the call (refused, or reconciliation proved it absent)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE calls SET state = 'not_placed', open = 0, outcome = ?, resolved_at = ?, "
                "error_status = ?, error_code = ?, error_message = ? WHERE id = ?",
                (outcome, at, error_status, error_code, error_message, call_id),
            )
            _apply_contact_update(conn, contact_update, at)

    def finish_call(self, call_id: int, result: CallResult, update: ContactUpdate) -> None:
        """A call reached its outcome; the contact is done or re-queued, atomically."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE calls SET state = 'ended', open = 0, outcome = ?, reason = ?, "
                "exotel_status = ?, resolved_at = ?, resolved_by = ?, started_at = ?, "
                "ended_at = ?, talk_time = ?, recording_url = ?, record_complete = ? "
                "WHERE id = ?",
                (
                    result.outcome,
                    result.reason,
                    result.exotel_status,
                    result.at,
                    result.resolved_by,
                    result.started_at,
                    result.ended_at,
                    result.talk_time,
                    result.recording_url,
                    int(result.record_complete),
                    call_id,
                ),
            )
            _apply_contact_update(conn, update, result.at)

    def complete_record(
        self,
        call_id: int,
        *,
        talk_time: int | None,
        recording_url: str | None,
        ended_at: float | None,
    ) -> None:
        """Exotel finished the call's record later: take talk time and recording now."""
        self.conn.execute(
            "UPDATE calls SET talk_time = ?, recording_url = coalesce(?, recording_url), "
            "ended_at = coalesce(?, ended_at), record_complete = 1 WHERE id = ?",
            (talk_time, recording_url, ended_at, call_id),
        )

    def mark_answered(self, call_id: int) -> None:
        self.conn.execute("UPDATE calls SET answered = 1 WHERE id = ?", (call_id,))

    def note_poll(self, call_ids: Iterable[int], at: float) -> None:
        self.conn.executemany(
            "UPDATE calls SET polls = polls + 1, last_poll_at = ? WHERE id = ?",
            [(at, cid) for cid in call_ids],
        )

    def open_calls(self) -> list[CallRow]:
        """Calls that were, or may have been, placed and have no outcome yet."""
        rows = self.conn.execute("SELECT * FROM calls WHERE open = 1 ORDER BY id").fetchall()
        return [_call(r) for r in rows]

    def incomplete_records(self) -> list[CallRow]:
        """Connected calls whose talk time and recording Exotel had not finalised yet."""
        rows = self.conn.execute(
            "SELECT * FROM calls WHERE state = 'ended' AND record_complete = 0 "
            "AND sid IS NOT NULL AND outcome = 'connected'"
        ).fetchall()
        return [_call(r) for r in rows]

    def call_by_sid(self, sid: str) -> CallRow | None:
        row = self.conn.execute("SELECT * FROM calls WHERE sid = ?", (sid,)).fetchone()
        return None if row is None else _call(row)

    def call_request(self, call_id: int) -> dict[str, object]:
        """The compiled request journaled for a call (what was sent: numbers, CustomField);
        empty when the call is unknown or its request unreadable."""
        row = self.conn.execute("SELECT request FROM calls WHERE id = ?", (call_id,)).fetchone()
        try:
            request = json.loads(row[0]) if row is not None else {}
        except ValueError:
            return {}
        return request if isinstance(request, dict) else {}

    def known_sids(self, sids: Iterable[str]) -> set[str]:
        wanted = list(sids)
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = self.conn.execute(f"SELECT sid FROM calls WHERE sid IN ({marks})", wanted)
        return {str(r[0]) for r in rows}

    # -- events -------------------------------------------------------------------------

    def record_event(
        self,
        *,
        at: float,
        sid: str | None,
        call_id: int | None,
        source: str,
        event: str,
        status: str | None,
        effect: str,
        payload: Mapping[str, Any],
    ) -> None:
        self.conn.execute(
            "INSERT INTO events (at, sid, call_id, source, event, status, effect, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (at, sid, call_id, source, event, status, effect, json.dumps(payload, default=str)),
        )

    def unmatched_payloads(self, sid: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Events that arrived for ``sid`` before its POST's answer: (source, event, payload)."""
        rows = self.conn.execute(
            "SELECT source, event, payload FROM events WHERE sid = ? AND effect = 'unmatched' "
            "ORDER BY id",
            (sid,),
        ).fetchall()
        return [(str(r[0]), str(r[1]), json.loads(r[2])) for r in rows]

    def mark_early_events(self, sid: str) -> None:
        self.conn.execute(
            "UPDATE events SET effect = 'early' WHERE sid = ? AND effect = 'unmatched'", (sid,)
        )

    # -- summaries ----------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Contacts by outcome (done) or state (ready/active)."""
        rows = self.conn.execute(
            "SELECT coalesce(outcome, state), count(*) FROM contacts GROUP BY 1"
        ).fetchall()
        return {str(k): int(v) for k, v in rows}

    def active_contacts(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM contacts WHERE state != 'done'").fetchone()
        return int(row[0])


@dataclass(frozen=True, slots=True)
class ContactUpdate:
    """What a finished (or refused) call does to its contact."""

    contact_id: int
    attempts: int
    agent_failures: int
    outcome: str | None = None  # set: the contact is done
    reason: str | None = None
    next_at: float = 0.0  # when not done: not dialed before this
    last_outcome: str | None = None  # the outcome of the call that just ended, if any


@dataclass(frozen=True, slots=True)
class CallResult:
    """A call's outcome and Exotel's record of it."""

    outcome: str
    reason: str
    exotel_status: str | None
    resolved_by: str
    at: float
    started_at: float | None = None
    ended_at: float | None = None
    talk_time: int | None = None
    recording_url: str | None = None
    record_complete: bool = False


def _apply_contact_update(conn: sqlite3.Connection, update: ContactUpdate, at: float) -> None:
    if update.outcome is not None:
        conn.execute(
            "UPDATE contacts SET state = 'done', outcome = ?, reason = ?, attempts = ?, "
            "agent_failures = ?, updated_at = ? WHERE id = ?",
            (
                update.outcome,
                update.reason,
                update.attempts,
                update.agent_failures,
                at,
                update.contact_id,
            ),
        )
    else:
        # A contact removed from the campaign file (while its call was in flight) never
        # goes back in the queue: it ends with its last call's outcome, or skipped.
        conn.execute(
            "UPDATE contacts SET state = CASE WHEN in_file THEN 'ready' ELSE 'done' END, "
            "outcome = CASE WHEN in_file THEN NULL ELSE coalesce(?, 'skipped') END, "
            "reason = CASE WHEN in_file THEN ? ELSE 'removed' END, "
            "next_at = ?, attempts = ?, agent_failures = ?, updated_at = ? WHERE id = ?",
            (
                update.last_outcome,
                update.reason,
                update.next_at,
                update.attempts,
                update.agent_failures,
                at,
                update.contact_id,
            ),
        )


def _upsert_contacts(conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO contacts (phone, raw_phone, source, variables, seq, state, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'ready', ?) "
        "ON CONFLICT (phone) DO UPDATE SET in_file = 1, raw_phone = excluded.raw_phone, "
        "source = excluded.source, variables = excluded.variables",
        batch,
    )


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = connect(path)
        conn.execute("PRAGMA foreign_keys=ON")
        return conn
    except sqlite3.DatabaseError as exc:
        raise unwritable_error(path, exc) or StateError(
            f"{path}: cannot open the journal ({exc})"
        ) from exc


def _lock(lock_path: Path) -> int:
    try:
        return exclusive(lock_path, str(os.getpid()))
    except Held as held:
        raise StateError(
            f"{lock_path.with_suffix('')}: another run is using this journal "
            f"(pid {held.holder[:64] or 'unknown'}); wait for it to finish or stop it first"
        ) from None


def contact_row(row: sqlite3.Row) -> ContactRow:
    """A contacts row as a :class:`ContactRow`."""
    return ContactRow(
        id=row["id"],
        phone=row["phone"],
        raw_phone=row["raw_phone"],
        source=row["source"],
        variables=json.loads(row["variables"]),
        state=row["state"],
        outcome=row["outcome"],
        reason=row["reason"],
        attempts=row["attempts"],
        agent_failures=row["agent_failures"],
        next_at=row["next_at"],
        in_file=bool(row["in_file"]),
        screened=bool(row["screened"]),
        seq=row["seq"],
    )


def _call(row: sqlite3.Row) -> CallRow:
    return CallRow(
        id=row["id"],
        contact_id=row["contact_id"],
        attempt=row["attempt"],
        state=row["state"],
        sid=row["sid"],
        api=row["api"],
        caller_id=row["caller_id"],
        agent=row["agent"],
        intent_at=row["intent_at"],
        placed_at=row["placed_at"],
        outcome=row["outcome"],
        record_complete=bool(row["record_complete"]),
        talk_time=row["talk_time"],
        answered=bool(row["answered"]),
        polls=row["polls"],
        last_poll_at=row["last_poll_at"],
    )
