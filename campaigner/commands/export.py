"""``campaigner export FILE``: one record per contact, with every call it received."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from campaigner.store.journal import Journal
from campaigner.store.locate import journal_path
from campaigner.store.queries import export_records

NAME = "export"
HELP = "Export every contact's outcome, attempts, variables and calls (CSV or JSON)."

FIXED = ("phone", "outcome", "reason", "state", "attempts", "source")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="campaign file")
    parser.add_argument("--format", choices=("csv", "json", "jsonl"), default="csv")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    journal = Journal.read(journal_path(args.file))
    try:
        timezone = (
            json.loads(journal.get_meta("settings") or "{}")
            .get("schedule", {})
            .get("timezone", "Asia/Kolkata")
        )
        with _output(args.output) as out:
            records = export_records(journal, timezone)
            {"csv": write_csv, "json": write_json, "jsonl": write_jsonl}[args.format](records, out)
    finally:
        journal.close()
    return 0


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        yield handle


def write_json(records: Iterator[dict[str, Any]], out: TextIO) -> None:
    """A JSON array, streamed one record at a time."""
    out.write("[")
    for i, record in enumerate(records):
        out.write(",\n" if i else "\n")
        out.write(json.dumps(record, ensure_ascii=False))
    out.write("\n]\n")


def write_jsonl(records: Iterator[dict[str, Any]], out: TextIO) -> None:
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_csv(records: Iterator[dict[str, Any]], out: TextIO) -> None:
    """Fixed columns, then one column per contact variable, then ``calls`` as JSON.

    Variable columns are named after the variable; one that collides with a fixed
    column is prefixed ``var_``. The variable columns are those of the first
    contact (every contact of a CSV campaign has the same ones).
    """
    writer: csv.DictWriter[str] | None = None
    variables: list[str] = []
    for record in records:
        if writer is None:
            variables = list(record["variables"])
            header = [*FIXED, *(_column(v) for v in variables), "calls"]
            writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
        row = {k: record[k] for k in FIXED}
        for name in variables:
            row[_column(name)] = record["variables"].get(name)
        row["calls"] = json.dumps(record["calls"], ensure_ascii=False)
        writer.writerow(row)
    if writer is None:
        csv.writer(out).writerow([*FIXED, "calls"])


def _column(variable: str) -> str:
    return f"var_{variable}" if variable in (*FIXED, "calls") else variable
