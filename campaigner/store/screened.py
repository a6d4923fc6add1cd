"""The journal's side of screening: which contacts are screened, skipped, or waiting.

Kept apart from :mod:`campaigner.store.journal` (one concept per module) but on the
same connection and with the same rule: each function is one transaction.
``contacts.screened`` is 1 once a contact's DND screening allows it to be dialed; a
contact screening refuses ends ``skipped`` with the reason (``dnd``, ``opted_out``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from campaigner.store.journal import ContactRow, Journal, contact_row

_BATCH = 500


def unscreened(journal: Journal, after_seq: int, limit: int) -> list[ContactRow]:
    """Ready contacts not yet screened, in file order, after position ``after_seq``."""
    rows = journal.conn.execute(
        "SELECT * FROM contacts WHERE screened = 0 AND state = 'ready' AND seq > ? "
        "ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [contact_row(r) for r in rows]


def count_unscreened(journal: Journal) -> int:
    row = journal.conn.execute(
        "SELECT count(*) FROM contacts WHERE screened = 0 AND state = 'ready'"
    ).fetchone()
    return int(row[0])


def apply_screening(
    journal: Journal, cleared: Sequence[int], skipped: Sequence[tuple[int, str]], at: float
) -> int:
    """Mark ``cleared`` contacts dialable and end ``skipped`` ones; returns how many ended.

    A contact that is no longer ready (it ended meanwhile) is left alone.
    """
    with journal.transaction() as conn:
        conn.executemany(
            "UPDATE contacts SET screened = 1 WHERE id = ? AND state = 'ready'",
            [(cid,) for cid in cleared],
        )
        ended = 0
        for cid, reason in skipped:
            ended += conn.execute(
                "UPDATE contacts SET state = 'done', outcome = 'skipped', reason = ?, "
                "updated_at = ? WHERE id = ? AND state = 'ready'",
                (reason, at, cid),
            ).rowcount
    return ended


def still_waiting(journal: Journal, ids: Iterable[int], now: float) -> set[int]:
    """Those of ``ids`` that are ready and due: screened contacts the dialer has not taken."""
    wanted = list(ids)
    found: set[int] = set()
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        marks = ",".join("?" * len(chunk))
        rows = journal.conn.execute(
            f"SELECT id FROM contacts WHERE id IN ({marks}) AND state = 'ready' AND next_at <= ?",
            (*chunk, now),
        )
        found.update(int(r[0]) for r in rows)
    return found


def skip_numbers(journal: Journal, numbers: Iterable[str], reason: str, at: float) -> int:
    """End every ready contact whose number is in ``numbers`` as ``skipped`` (``reason``).

    Contacts in a call are left alone (their call runs to its end; a retry would not
    be ready either, since the opt-out applies at the next prepare). Returns the count.
    """
    with journal.transaction() as conn:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS skip_numbers (phone TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.skip_numbers")
        conn.executemany(
            "INSERT OR IGNORE INTO temp.skip_numbers (phone) VALUES (?)", ((n,) for n in numbers)
        )
        ended = conn.execute(
            "UPDATE contacts SET state = 'done', outcome = 'skipped', reason = ?, updated_at = ? "
            "WHERE state = 'ready' AND phone IN (SELECT phone FROM temp.skip_numbers)",
            (reason, at),
        ).rowcount
        conn.execute("DELETE FROM temp.skip_numbers")
    return int(ended)
