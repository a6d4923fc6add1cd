"""SQLite habits shared by the journal and the shared state: one place for them.

- **Durable commits.** WAL with ``synchronous=FULL``: every commit is fsynced before
  it returns, so the intent of a call, committed before its POST leaves, survives a
  power cut or an OS crash, not only a crash of campaigner. (``NORMAL`` syncs only at
  checkpoints: a power cut could roll back the last commits, intent included, and the
  contact would be dialed again.) The cost is one fsync per commit, measured in
  docs/benchmarks.md ("Journal durability"): small beside the API's 200 requests a minute.
- **Private files.** The database file is created ``0600`` before SQLite opens it (its
  ``-wal`` and ``-shm`` inherit that), and tightened if it was more open.
- **Clean failures.** A full disk, a read-only file system or an I/O error raises one
  :class:`~campaigner.errors.StateWriteError` naming the file and the problem, from any
  statement on the connection, instead of a raw ``sqlite3.OperationalError``.
- A busy timeout, and writes in ``BEGIN IMMEDIATE`` transactions: the write lock is
  taken before anything is read, so a read-then-write cannot interleave with another
  process's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite3 import _Parameters
else:
    _Parameters = Any

from campaigner.errors import StateWriteError
from campaigner.store.files import private_database

BUSY_TIMEOUT_MS = 5000
# FULL: every commit is fsynced before it returns. NORMAL (fsync at checkpoints only) is
# what campaigner used before; bench/journal_durability.py sets it to compare the two.
SYNCHRONOUS = "FULL"

# Primary result codes (the low byte of an extended code) that mean "cannot write here".
_UNWRITABLE = {
    sqlite3.SQLITE_FULL: "the disk is full (or the database reached its size limit)",
    sqlite3.SQLITE_READONLY: "it is read-only (a read-only file system or file)",
    sqlite3.SQLITE_IOERR: "an I/O error",
    sqlite3.SQLITE_CANTOPEN: "it cannot be opened or created",
    sqlite3.SQLITE_PERM: "permission denied",
}


class GuardedConnection(sqlite3.Connection):
    """A connection whose "cannot write" errors are one :class:`StateWriteError`.

    Every statement of the journal and the shared store goes through ``execute``,
    ``executemany`` or ``executescript``; a commit that fails is one of those too
    (``COMMIT`` is a statement here: connections are in autocommit mode).
    """

    state_path: Path = Path()

    def execute(self, sql: str, parameters: _Parameters = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise _translated(self.state_path, exc) from exc

    def executemany(self, sql: str, parameters: Iterable[_Parameters], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise _translated(self.state_path, exc) from exc

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(sql_script)
        except sqlite3.OperationalError as exc:
            raise _translated(self.state_path, exc) from exc


def _translated(path: Path, exc: sqlite3.OperationalError) -> Exception:
    problem = _UNWRITABLE.get(getattr(exc, "sqlite_errorcode", 0) & 0xFF)
    if problem is None:
        return exc  # not about the disk: "database is locked" and the like stay as they are
    return StateWriteError(f"{path}: cannot write campaigner's state: {problem} ({exc})")


def unwritable_error(path: Path, exc: sqlite3.Error) -> StateWriteError | None:
    """``exc`` as a StateWriteError when it means the disk cannot be written, else None."""
    if isinstance(exc, sqlite3.OperationalError):
        translated = _translated(path, exc)
        if isinstance(translated, StateWriteError):
            return translated
    return None


def connect(path: Path) -> sqlite3.Connection:
    """A writable connection in autocommit mode (transactions are explicit)."""
    private_database(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, factory=GuardedConnection)
    except sqlite3.OperationalError as exc:
        raise _translated(path, exc) from exc
    conn.state_path = path
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
    return conn


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection (status, plan, reports beside a live run)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (a failed COMMIT included).

    SQLite may already have rolled the transaction back itself (a full disk does), so the
    ROLLBACK is only issued while one is open, and its own failure never hides the first.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    if not conn.in_transaction:
        return
    with suppress(sqlite3.Error, StateWriteError):  # the error being raised says more
        conn.execute("ROLLBACK")
