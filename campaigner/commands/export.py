"""``campaigner export FILE``: every contact's outcome and every call it received.

JSON and JSON Lines: one record per contact, its calls nested. CSV: one row per call
(plus one row for each contact that has no call, and each skipped row), with flat
columns, because a spreadsheet or a database import wants one value per cell.

Exports are opened in spreadsheets, and their cells come from contact files and from
Exotel: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
would be taken for a formula (CSV injection). Every such CSV cell gets a leading ``'``,
except a plain E.164 number (``+919876543210``), which spreadsheets read as a number
anyway and operators join on. ``--mask`` hides numbers the way reports do
(campaigner.report.masking); by default the export is the operator's full record.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from campaigner.report.masking import mask_data, mask_phone, mask_text
from campaigner.store.files import unwritable
from campaigner.store.journal import Journal
from campaigner.store.locate import journal_path
from campaigner.store.queries import CALL_FIELDS, export_records
from campaigner.store.run_settings import RunSettings

NAME = "export"
HELP = "Export every contact's outcome, attempts, variables and calls (CSV or JSON)."

FIXED = ("phone", "outcome", "reason", "state", "attempts", "source")
CALL_COLUMNS = tuple(f"call_{name}" for name in CALL_FIELDS)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9]\d{6,14}")

Record = dict[str, Any]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument("--format", choices=("csv", "json", "jsonl"), default="csv")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here (mode 0600) instead of stdout"
    )
    parser.add_argument(
        "--mask",
        action="store_true",
        help="hide numbers as reports do (last 4 digits kept); caller IDs stay as they are",
    )


def run(args: argparse.Namespace) -> int:
    journal = Journal.read(journal_path(args.file))
    try:
        with _output(args.output) as out:
            records = export_records(journal, RunSettings.read(journal).timezone)
            if args.mask:
                records = (masked(record) for record in records)
            {"csv": write_csv, "json": write_json, "jsonl": write_jsonl}[args.format](records, out)
    finally:
        journal.close()
    return 0


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """stdout, or a file only its owner can read: an export holds customers' numbers."""
    if path is None:
        yield sys.stdout
        return
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise unwritable(target, exc) from exc
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        try:
            yield handle
        except (BrokenPipeError, InterruptedError):
            raise
        except OSError as exc:  # a full disk while writing: one line, not a traceback
            raise unwritable(target, exc) from exc


def masked(record: Record) -> Record:
    """``record`` with contact and agent numbers masked; free text masked too."""
    phone = str(record["phone"])
    return {
        **record,
        # a skipped row's number is as written in the file: masked like free text
        "phone": mask_phone(phone) if _E164.fullmatch(phone) else mask_text(phone),
        "reason": mask_text(record["reason"]) if record["reason"] else record["reason"],
        "variables": mask_data(record["variables"]),
        "calls": [
            {**call, "agent": mask_phone(call["agent"]) if call.get("agent") else call.get("agent")}
            for call in record["calls"]
        ],
    }


def write_json(records: Iterator[Record], out: TextIO) -> None:
    """A JSON array, streamed one record at a time."""
    out.write("[")
    for i, record in enumerate(records):
        out.write(",\n" if i else "\n")
        out.write(json.dumps(record, ensure_ascii=False))
    out.write("\n]\n")


def write_jsonl(records: Iterator[Record], out: TextIO) -> None:
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_csv(records: Iterator[Record], out: TextIO) -> None:
    """One row per call; a contact's own columns repeat on each of its calls' rows.

    Columns: the fixed contact columns, one per contact variable (named after it,
    ``var_`` in front when it collides with another column), then ``call_<field>`` for
    each call field (empty on the row of a contact without calls). The variable columns
    are those of the first contact (every contact of a CSV campaign has the same ones).
    """
    writer: Callable[[list[object]], object] | None = None
    variables: list[str] = []
    for record in records:
        if writer is None:
            variables = list(record["variables"])
            writer = csv.writer(out).writerow
            writer(_safe_row([*FIXED, *(_column(v) for v in variables), *CALL_COLUMNS]))
        contact = [
            *(record[k] for k in FIXED),
            *(record["variables"].get(name) for name in variables),
        ]
        for call in record["calls"] or [None]:
            values = [None] * len(CALL_FIELDS) if call is None else [call[f] for f in CALL_FIELDS]
            writer(_safe_row([*contact, *values]))
    if writer is None:
        csv.writer(out).writerow([*FIXED, *CALL_COLUMNS])


def _column(variable: str) -> str:
    return f"var_{variable}" if variable in (*FIXED, *CALL_COLUMNS) else variable


def _safe_row(values: list[Any]) -> list[object]:
    return [safe_cell(value) for value in values]


def safe_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: formula-like text gets a leading ``'``.

    A plain E.164 number is left alone (it is data, and the export's join key).
    Booleans are written ``true``/``false`` as in JSON; None is an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _E164.fullmatch(value):
        return "'" + value
    return value
