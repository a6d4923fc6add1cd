"""Contacts: every row's number normalised, duplicates merged, problems located at the row.

:func:`scan` streams a source once and yields, in file order, each valid unique
:class:`Contact`, each :class:`RejectedRow`, and each row :class:`Problem`. The same
function serves ``validate`` (which counts) and the engine (which dials), so both
agree on what "the contacts" are. Duplicates are found through an on-disk
temporary table (:mod:`campaigner.campaign.seen`), so memory does not grow with the
number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator

from campaigner.campaign.model import Contacts
from campaigner.campaign.resolved import Contact, RejectedRow
from campaigner.campaign.seen import SeenNumbers
from campaigner.campaign.sources import RawRow, Row, shown
from campaigner.errors import Problem
from campaigner.phones import InvalidPhoneNumber, normalise

ScanItem = Contact | RejectedRow | Problem
Normalised = str | InvalidPhoneNumber | None  # E.164, why not, or None for a Problem row


def scan(
    rows: Iterator[Row], contacts: Contacts, dedupe: bool, batch: int = 2000
) -> Iterator[ScanItem]:
    """Normalise and deduplicate ``rows``: contacts, rejected rows and row problems, in order.

    An invalid number is an error, or (``contacts.on_invalid: skip``) a warning and a
    RejectedRow. A repeated number is merged into its first row with a warning, or is
    an error when ``screening.dedupe`` is false. Rows are checked against the seen
    numbers ``batch`` at a time; memory holds one batch.
    """
    pending: list[tuple[Row, Normalised]] = []
    with SeenNumbers() as seen:
        for row in rows:
            phone = _normalised(row, contacts) if isinstance(row, RawRow) else None
            pending.append((row, phone))
            if len(pending) >= batch:
                yield from _flush(pending, contacts, dedupe, seen)
        yield from _flush(pending, contacts, dedupe, seen)


def _normalised(row: RawRow, contacts: Contacts) -> Normalised:
    try:
        return normalise(str(row.raw_phone).strip(), contacts.default_region)
    except InvalidPhoneNumber as exc:
        return exc


def _flush(
    pending: list[tuple[Row, Normalised]], contacts: Contacts, dedupe: bool, seen: SeenNumbers
) -> Iterator[ScanItem]:
    valid = [(phone, row.line) for row, phone in pending if isinstance(phone, str)]
    firsts = iter(seen.first_lines(valid))
    for row, phone in pending:
        if isinstance(row, Problem):
            yield row
        elif isinstance(phone, str):
            first = next(firsts)
            if first is None:  # the common case, kept free of generator overhead
                yield Contact(phone, str(row.raw_phone), f"{row.file}:{row.line}", row.variables)
            else:
                yield from _repeated(row, phone, first, dedupe)
        elif phone is not None:
            yield from _invalid(row, phone, contacts)
    pending.clear()


def _invalid(row: RawRow, error: InvalidPhoneNumber, contacts: Contacts) -> Iterator[ScanItem]:
    # A row's value is quoted short: contacts.file may name a file that is not a contact
    # list, and the loader hides even this much when no row of the file is a contact.
    message = f"'{shown(error.raw)}' is not a valid phone number ({error.reason})"
    if contacts.on_invalid == "skip":
        yield _problem(row, f"{message}; skipped (contacts.on_invalid: skip)", "warning")
        yield RejectedRow(f"{row.file}:{row.line}", str(row.raw_phone), "invalid", str(error))
    else:
        yield _problem(row, message, "error")


def _repeated(row: RawRow, phone: str, first: int, dedupe: bool) -> Iterator[ScanItem]:
    if not dedupe:
        message = f"{phone} is also on line {first}, and screening.dedupe is false"
        yield _problem(row, message, "error")
    else:
        message = f"{phone} is also on line {first}; merged (the first row wins)"
        yield _problem(row, message, "warning")
        source = f"{row.file}:{row.line}"
        yield RejectedRow(source, str(row.raw_phone), "duplicate", f"duplicate of line {first}")


def _problem(row: RawRow, message: str, severity: str) -> Problem:
    line, col = row.where()
    return Problem(row.file, line, col, f"{row.label}: {message}", severity)
