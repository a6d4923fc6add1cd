"""State shared by every campaign of a state directory: ``<state>/shared.sqlite3``.

Three things outlive one campaign and must be seen by all of them:

- **the number cache**: v1 number metadata (DND, type, circle, operator), so a number is
  looked up once, not once per campaign; entries expire (a registration can change);
- **the call history**: every call any campaign placed, recorded at intent time, so that
  ``screening.frequency_cap`` and ``min_gap`` hold across campaigns;
- **heartbeats**: every ExoPhone heartbeat received, so that a run starting shortly after
  another (or beside it) knows the ExoPhones' health without asking v2 details.

Two runs of different campaigns may use this file at once, from two processes. So: WAL,
durable commits (``synchronous=FULL``: a call is claimed here before its POST, like its
intent in the journal), a busy timeout, ``0600`` like the journal, and every
read-then-write (the frequency check that records a call) in one ``BEGIN IMMEDIATE``
transaction, which takes the write lock before reading. Writes are single rows and hold
the lock for microseconds. Calls are made directly from the trio thread, like the
journal's (single-row commits take microseconds, so no thread is needed).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from campaigner.errors import StateError
from campaigner.exotel.models import Heartbeat, NumberMetadata
from campaigner.screening.frequency import CallingRules, earliest_allowed
from campaigner.store.files import private_dir
from campaigner.store.sqlite import connect, connect_readonly, immediate, unwritable_error

SHARED_FILE = "shared.sqlite3"
SANDBOX_SHARED_FILE = "shared.sandbox.sqlite3"  # sandbox runs: simulated answers stay apart
SHARED_SCHEMA_VERSION = 1
DAY = 86_400.0
DND_TTL = 30 * DAY  # how long a Yes/No answer of number metadata is trusted
UNAVAILABLE_TTL = 1 * DAY  # "Unavailable" is asked again sooner
HISTORY_KEEP = 367 * DAY  # the longest frequency cap period is 366 days
HEARTBEAT_KEEP = 7 * DAY
_BATCH = 500

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS numbers (
    phone         TEXT PRIMARY KEY,            -- E.164
    dnd           INTEGER,                     -- 1 on the registry, 0 not, NULL unavailable
    number_type   TEXT,
    circle        TEXT,
    circle_name   TEXT,
    operator      TEXT,
    operator_name TEXT,
    source        TEXT NOT NULL,               -- lookup | ndnc (a 403 on connect)
    checked_at    REAL NOT NULL,
    expires_at    REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS placed_calls (
    id       INTEGER PRIMARY KEY,
    phone    TEXT NOT NULL,                    -- E.164
    at       REAL NOT NULL,                    -- intent time
    campaign TEXT NOT NULL                     -- the journal's path
);
CREATE INDEX IF NOT EXISTS placed_calls_phone ON placed_calls (phone, at);

CREATE TABLE IF NOT EXISTS heartbeats (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    timestamp   REAL NOT NULL,                 -- Exotel's, identifies the heartbeat
    received_at REAL NOT NULL,
    status_type TEXT NOT NULL,
    incoming    TEXT NOT NULL,                 -- JSON list of ExoPhone SIDs
    outgoing    TEXT NOT NULL,
    data        TEXT NOT NULL,                 -- JSON {sid: phone_number}
    repeats     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, timestamp)
);
"""


REFUSED = "refused"  # NumberInfo.source of a number Exotel would not look up (not cached)


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """What the cache knows about a number; ``dnd`` None means "Unavailable"."""

    phone: str
    dnd: bool | None
    number_type: str | None
    circle: str | None
    operator: str | None
    source: str
    checked_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class StoredHeartbeat:
    """A heartbeat as journaled; ``timestamp`` and ``received_at`` are epoch seconds."""

    timestamp: float
    received_at: float
    status_type: str
    incoming_affected: tuple[str, ...]
    outgoing_affected: tuple[str, ...]
    data: dict[str, str]


class SharedState:
    """The shared SQLite file of one state directory. Open with :meth:`open` or :meth:`read`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(
        cls, state_dir: Path, *, now: float | None = None, file: str = SHARED_FILE
    ) -> SharedState:
        """Open for reading and writing, creating the file; old history is pruned at ``now``."""
        private_dir(state_dir)
        path = state_dir / file
        try:
            conn = connect(path)
            shared = cls(conn, path)
            conn.executescript(DDL)  # idempotent; another process may run it at once
            with shared._write():
                shared._check_version()
            if now is not None:
                shared.prune(now)
            return shared
        except sqlite3.DatabaseError as exc:
            raise unwritable_error(path, exc) or StateError(
                f"{path}: cannot open the shared state ({exc})"
            ) from exc

    @classmethod
    def read(cls, state_dir: Path) -> SharedState | None:
        """Open read-only (``plan``), or None when no campaign has used ``state_dir`` yet."""
        path = state_dir / SHARED_FILE
        if not path.exists():
            return None
        try:
            conn = connect_readonly(path)
            conn.execute("SELECT count(*) FROM numbers").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: not campaigner's shared state ({exc})") from exc
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SharedState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """BEGIN IMMEDIATE: the write lock is taken before anything is read."""
        return immediate(self.conn)

    def _check_version(self) -> None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SHARED_SCHEMA_VERSION),),
            )
        elif int(row[0]) != SHARED_SCHEMA_VERSION:
            raise StateError(f"{self.path}: shared schema {row[0]} is not {SHARED_SCHEMA_VERSION}")

    def prune(self, now: float) -> None:
        """Forget what no rule can need any more (calls older than a year, old heartbeats).

        At most once a day: the history is scanned whole, and runs start often.
        """
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'pruned_at'").fetchone()
            if row is not None and now - float(row[0]) < DAY:
                return
            conn.execute("DELETE FROM placed_calls WHERE at < ?", (now - HISTORY_KEEP,))
            conn.execute("DELETE FROM heartbeats WHERE received_at < ?", (now - HEARTBEAT_KEEP,))
            conn.execute("DELETE FROM numbers WHERE expires_at < ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('pruned_at', ?)", (str(now),)
            )

    # -- the number cache ---------------------------------------------------------------

    def cached(self, phones: Sequence[str], now: float) -> dict[str, NumberInfo]:
        """The unexpired cache entries of ``phones``."""
        found: dict[str, NumberInfo] = {}
        for start in range(0, len(phones), _BATCH):
            chunk = list(phones[start : start + _BATCH])
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT * FROM numbers WHERE phone IN ({marks}) AND expires_at > ?",
                (*chunk, now),
            )
            for row in rows:
                found[row["phone"]] = _number_info(row)
        return found

    def remember(self, phone: str, meta: NumberMetadata, now: float) -> NumberInfo:
        """Cache a lookup's answer (an ``Unavailable`` one for a shorter time)."""
        ttl = DND_TTL if meta.dnd is not None else UNAVAILABLE_TTL
        info = NumberInfo(
            phone, meta.dnd, meta.number_type, meta.circle, meta.operator, "lookup", now, now + ttl
        )
        self._store(info, meta.circle_name, meta.operator_name)
        return info

    def remember_ndnc(self, phone: str, now: float) -> None:
        """Exotel refused a call with 403 NDNC: the number is on the registry."""
        info = NumberInfo(phone, True, None, None, None, "ndnc", now, now + DND_TTL)
        self._store(info, None, None)

    def _store(self, info: NumberInfo, circle_name: str | None, operator_name: str | None) -> None:
        dnd = None if info.dnd is None else int(info.dnd)
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO numbers (phone, dnd, number_type, circle, circle_name, "
                "operator, operator_name, source, checked_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.phone,
                    dnd,
                    info.number_type,
                    info.circle,
                    circle_name,
                    info.operator,
                    operator_name,
                    info.source,
                    info.checked_at,
                    info.expires_at,
                ),
            )

    # -- the call history ---------------------------------------------------------------

    def earliest_call(self, phone: str, now: float, rules: CallingRules) -> float:
        """The earliest instant at or after ``now`` one more call to ``phone`` obeys ``rules``."""
        if not rules.active:
            return now
        return earliest_allowed(self._history(phone, now, rules), now, rules)

    def claim_call(self, phone: str, at: float, rules: CallingRules, campaign: str) -> float | None:
        """Record a call about to be placed, if ``rules`` allow it at ``at``: atomically.

        Returns None when recorded, else the earliest instant the rules allow (nothing
        recorded). Check and insert share one write transaction, so two runs racing for
        the same number cannot both pass a cap of one. On disk when this returns, like
        the call's intent.
        """
        with self._write() as conn:
            if rules.active:
                allowed = earliest_allowed(self._history(phone, at, rules), at, rules)
                if allowed > at:
                    return allowed
            conn.execute(
                "INSERT INTO placed_calls (phone, at, campaign) VALUES (?, ?, ?)",
                (phone, at, campaign),
            )
        return None

    def release_call(self, phone: str, at: float, campaign: str) -> None:
        """Forget a claimed call that Exotel never created (refused, or proven absent)."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM placed_calls WHERE phone = ? AND at = ? AND campaign = ?",
                (phone, at, campaign),
            )

    def _history(self, phone: str, now: float, rules: CallingRules) -> list[float]:
        # No upper bound: another process's clock may have recorded a call a moment
        # "after" ours, and it counts all the same.
        rows = self.conn.execute(
            "SELECT at FROM placed_calls WHERE phone = ? AND at > ? ORDER BY at DESC LIMIT ?",
            (phone, now - rules.horizon, rules.history_needed),
        )
        return [float(r[0]) for r in rows]

    # -- heartbeats ---------------------------------------------------------------------

    def record_heartbeat(self, account: str, beat: Heartbeat, received_at: float) -> str:
        """Journal a heartbeat: ``new`` (the newest yet), ``repeat`` or ``stale`` (older).

        docs/exotel/health.md: Exotel retries a heartbeat until answered 200, so repeats are
        normal; ``timestamp`` identifies one and orders them.
        """
        stamp = beat.timestamp.timestamp()
        with self._write() as conn:
            seen = conn.execute(
                "UPDATE heartbeats SET repeats = repeats + 1 WHERE account = ? AND timestamp = ?",
                (account, stamp),
            ).rowcount
            if seen:
                return "repeat"
            newest = conn.execute(
                "SELECT max(timestamp) FROM heartbeats WHERE account = ?", (account,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO heartbeats (account, timestamp, received_at, status_type, incoming, "
                "outgoing, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    account,
                    stamp,
                    received_at,
                    beat.status_type,
                    json.dumps(list(beat.incoming_affected)),
                    json.dumps(list(beat.outgoing_affected)),
                    json.dumps(dict(beat.data)),
                ),
            )
        return "stale" if newest is not None and newest > stamp else "new"

    def latest_heartbeat(self, account: str) -> StoredHeartbeat | None:
        """The newest heartbeat journaled for ``account`` (by Exotel's timestamp)."""
        row = self.conn.execute(
            "SELECT * FROM heartbeats WHERE account = ? ORDER BY timestamp DESC LIMIT 1",
            (account,),
        ).fetchone()
        if row is None:
            return None
        return StoredHeartbeat(
            timestamp=row["timestamp"],
            received_at=row["received_at"],
            status_type=row["status_type"],
            incoming_affected=tuple(json.loads(row["incoming"])),
            outgoing_affected=tuple(json.loads(row["outgoing"])),
            data=dict(json.loads(row["data"])),
        )


def _number_info(row: sqlite3.Row) -> NumberInfo:
    dnd = row["dnd"]
    return NumberInfo(
        phone=row["phone"],
        dnd=None if dnd is None else bool(dnd),
        number_type=row["number_type"],
        circle=row["circle"],
        operator=row["operator"],
        source=row["source"],
        checked_at=row["checked_at"],
        expires_at=row["expires_at"],
    )
