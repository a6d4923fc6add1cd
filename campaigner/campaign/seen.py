"""The numbers already seen in one pass over the contacts, in constant memory.

Every number goes into an on-disk temporary SQLite table (E.164 digits as the integer
key). In front of it sits a fixed-size Bloom filter (8 MiB): a number the filter has
never seen is certainly new and costs no lookup, only its share of one batched insert;
the rare "maybe" (a real duplicate, or about 0.1% false alarms at a million rows) is
looked up. Memory stays the same whatever the number of rows; only the disk table grows.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from types import TracebackType

_BITS = 1 << 26  # 8 MiB of filter
_MASK = _BITS - 1
_MULTIPLIER = 0x9E3779B97F4A7C15  # Fibonacci hashing spreads nearby numbers apart
_WORD = (1 << 64) - 1


class SeenNumbers:
    """First-seen lines of E.164 numbers, for one pass; a context manager (temp files)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="campaigner-dedupe-")
        self._db = sqlite3.connect(Path(self._dir.name) / "seen.sqlite3", isolation_level=None)
        # A scratch table: no journal, no fsync, a small page cache (about 8 MB).
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-8000"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE seen (phone INTEGER PRIMARY KEY, line INTEGER)")
        self._db.execute("BEGIN")
        self._filter = bytearray(_BITS >> 3)

    def first_lines(self, entries: list[tuple[str, int]]) -> list[int | None]:
        """For each (E.164, line) in order: None the first time, else the line it was first on."""
        result: list[int | None] = []
        batch: dict[int, int] = {}
        bits = self._filter
        for phone, line in entries:
            key = int(phone[1:])
            hashed = (key * _MULTIPLIER) & _WORD
            a, b = hashed & _MASK, (hashed >> 32) & _MASK
            if bits[a >> 3] & (1 << (a & 7)) and bits[b >> 3] & (1 << (b & 7)):
                first = batch.get(key) or self._lookup(key)
                if first is not None:
                    result.append(first)
                    continue
            bits[a >> 3] |= 1 << (a & 7)
            bits[b >> 3] |= 1 << (b & 7)
            batch[key] = line
            result.append(None)
        self._db.executemany("INSERT INTO seen VALUES (?, ?)", batch.items())
        return result

    def _lookup(self, key: int) -> int | None:
        row = self._db.execute("SELECT line FROM seen WHERE phone = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> SeenNumbers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
