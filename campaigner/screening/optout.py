"""Opt-out lists (``screening.opt_out``): files of numbers that must never be called.

A file is either a list of numbers, one per line, or a CSV whose header names a phone
column (the campaign's ``contacts.phone_column``, or a column called phone, mobile,
number, msisdn...). Numbers may be written in any form the contacts accept
(``098765 43210``, ``+91-98765-43210``...): each is normalised to E.164 with the
campaign's ``contacts.default_region``, exactly as contacts are, so that a number
opted out in one form matches a contact written in another. A line that is not a
number is counted, not fatal: an opt-out list must never stop a campaign from
honouring the rest of it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from campaigner.phones import InvalidPhoneNumber, normalise

PHONE_HEADERS = ("phone", "mobile", "number", "msisdn", "phone_number", "contact", "cell", "tel")
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True, slots=True)
class OptOutList:
    """The numbers of every opt-out file a campaign names, normalised."""

    numbers: frozenset[str]
    files: tuple[str, ...]
    unreadable: int  # lines that held no valid number

    def __contains__(self, phone: object) -> bool:
        return phone in self.numbers

    def __len__(self) -> int:
        return len(self.numbers)


def read_opt_outs(
    base_dir: Path, names: Sequence[str], region: str = "IN", phone_column: str = "phone"
) -> OptOutList:
    """Every number of the files ``names`` (relative to ``base_dir``)."""
    numbers: set[str] = set()
    unreadable = 0
    for name in names:
        for phone in iter_opt_out_file(base_dir / name, region, phone_column):
            if phone is None:
                unreadable += 1
            else:
                numbers.add(phone)
    return OptOutList(frozenset(numbers), tuple(names), unreadable)


def iter_opt_out_file(path: Path, region: str, phone_column: str) -> Iterator[str | None]:
    """E.164 numbers of one file, in order; None for a line that holds no valid number."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        lines = (line for line in handle if line.strip())
        first = next(lines, None)
        if first is None:
            return
        delimiter = _delimiter(first)
        header = [cell.strip() for cell in next(csv.reader([first], delimiter=delimiter))]
        column = _phone_index(header, phone_column)
        if column is None or _number(header[0], region) is not None:
            column = 0
            yield _number(header[0], region)
        for row in csv.reader(lines, delimiter=delimiter):
            yield _number(row[column], region) if column < len(row) else None


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _phone_index(header: list[str], phone_column: str) -> int | None:
    lowered = [cell.lower() for cell in header]
    for wanted in (phone_column.lower(), *PHONE_HEADERS):
        if wanted in lowered:
            return lowered.index(wanted)
    return None


def _number(raw: str, region: str) -> str | None:
    try:
        return normalise(raw.strip(), region)
    except InvalidPhoneNumber:
        return None
