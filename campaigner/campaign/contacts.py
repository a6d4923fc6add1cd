"""Contacts: every row's number normalised, duplicates merged, problems located at the row.

:func:`scan` streams a source once and yields, in file order, each valid unique
:class:`Contact`, each :class:`RejectedRow`, and each row :class:`Problem`. The same
function serves ``validate`` (which counts) and the engine (which dials), so both
agree on what "the contacts" are. Duplicates are found through an on-disk
temporary SQLite table, so memory does not grow with the number of rows.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from campaigner.campaign.model import Contacts
from campaigner.campaign.resolved import Contact, RejectedRow
from campaigner.campaign.sources import RawRow, Row
from campaigner.errors import Problem
from campaigner.phones import InvalidPhoneNumber, normalise

ScanItem = Contact | RejectedRow | Problem


class SeenNumbers:
    """The numbers already seen in one pass, kept on disk (constant memory)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="campaigner-dedupe-")
        path = Path(self._dir.name) / "seen.sqlite3"
        self._db = sqlite3.connect(path, isolation_level=None)
        # A scratch table: no journal, no fsync, a small page cache (about 8 MB).
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-8000"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE seen (phone TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")
        self._db.execute("BEGIN")

    def first_line(self, phone: str, line: int) -> int | None:
        """None the first time ``phone`` is seen; afterwards the line it was first seen on."""
        if self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (phone, line)).rowcount:
            return None
        row = self._db.execute("SELECT line FROM seen WHERE phone = ?", (phone,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> SeenNumbers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def scan(rows: Iterator[Row], contacts: Contacts, dedupe: bool) -> Iterator[ScanItem]:
    """Normalise and deduplicate ``rows``: contacts, rejected rows and row problems, in order.

    An invalid number is an error, or (``contacts.on_invalid: skip``) a warning and a
    RejectedRow. A repeated number is merged into its first row with a warning, or is
    an error when ``screening.dedupe`` is false.
    """
    with SeenNumbers() as seen:
        for row in rows:
            if isinstance(row, Problem):
                yield row
                continue
            yield from _one(row, contacts, dedupe, seen)


def _one(row: RawRow, contacts: Contacts, dedupe: bool, seen: SeenNumbers) -> Iterator[ScanItem]:
    raw = str(row.raw_phone)
    source = f"{row.file}:{row.line}"
    try:
        phone = normalise(raw.strip(), contacts.default_region)
    except InvalidPhoneNumber as exc:
        if contacts.on_invalid == "skip":
            yield _problem(row, f"{exc}; skipped (contacts.on_invalid: skip)", "warning")
            yield RejectedRow(source, raw, "invalid", str(exc))
        else:
            yield _problem(row, str(exc), "error")
        return
    first = seen.first_line(phone, row.line)
    if first is None:
        yield Contact(phone, raw, source, row.variables)
        return
    if not dedupe:
        message = f"{phone} is also on line {first}, and screening.dedupe is false"
        yield _problem(row, message, "error")
        return
    message = f"{phone} is also on line {first}; merged (the first row wins)"
    yield _problem(row, message, "warning")
    yield RejectedRow(source, raw, "duplicate", f"duplicate of line {first}")


def _problem(row: RawRow, message: str, severity: str) -> Problem:
    line, col = row.where()
    return Problem(row.file, line, col, f"{row.label}: {message}", severity)
