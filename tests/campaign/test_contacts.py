"""Contacts: CSV and inline rows normalised, deduplicated, and their problems located."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigner.campaign.resolved import RejectedRow
from tests.campaign.conftest import BASE, Check

CSV = BASE.replace('inline: ["+919812300001"]', "file: contacts.csv")


def csv_campaign(extra: str = "") -> str:
    return CSV.replace("  file: contacts.csv\n", "  file: contacts.csv\n" + extra)


def test_bom_blank_lines_and_variables(check: Check) -> None:
    text = "\ufeffphone,name,amount\n+91 98123 00001,Asha,10\n\n,,\n098123 00002,Ravi,20\n"
    loaded, problems = check(CSV, {"contacts.csv": text})
    assert problems == []
    assert loaded is not None
    contacts = list(loaded.iter_contacts())
    assert [(c.phone, c.raw_phone, c.source, dict(c.variables)) for c in contacts] == [
        ("+919812300001", "+91 98123 00001", "contacts.csv:2", {"name": "Asha", "amount": "10"}),
        ("+919812300002", "098123 00002", "contacts.csv:5", {"name": "Ravi", "amount": "20"}),
    ]


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("phon,name", ", did you mean 'phon'?"),
        ("mobile_number,name", "; did you mean 'mobile_number'?"),
        ("name,city", ""),
    ],
)
def test_missing_phone_column(check: Check, header: str, hint: str) -> None:
    _, problems = check(CSV, {"contacts.csv": header + "\n9812300001,x\n"})
    columns = header.replace(",", ", ")
    assert problems == [
        f"contacts.csv:1:1: header: no column 'phone' (contacts.phone_column); "
        f"columns found: {columns}{hint}"
    ]


def test_header_names_that_templates_cannot_reach_warn(check: Check) -> None:
    text = "phone,order id,attempt,ok\n9812300001,1,2,3\n"
    loaded, problems = check(CSV, {"contacts.csv": text})
    assert loaded is not None
    assert problems == [
        "contacts.csv:1:1: warning: header: column 'order id' cannot be used in templates "
        "(not a valid variable name)",
        "contacts.csv:1:1: warning: header: column 'attempt' is hidden by the built-in "
        "template variable of that name",
    ]


def test_duplicate_header_and_empty_file(check: Check) -> None:
    assert check(CSV, {"contacts.csv": "phone,a,a\n"})[1] == [
        "contacts.csv:1:1: header: column 'a' appears twice"
    ]
    assert check(CSV, {"contacts.csv": ""})[1] == [
        "contacts.csv:1:1: header: the file is empty; expected a header row"
    ]


def test_rows_with_the_wrong_number_of_fields(check: Check) -> None:
    text = "phone,name\n9812300001,A\n9812300002\n9812300003,C,extra\n"
    loaded, problems = check(CSV, {"contacts.csv": text})
    assert loaded is None
    assert problems == [
        "contacts.csv:3:1: row has 1 fields, the header has 2",
        "contacts.csv:4:1: row has 3 fields, the header has 2",
    ]


def test_invalid_numbers_are_errors_at_their_cell(check: Check) -> None:
    text = 'name,phone\nA,12345\n"Rao, B",98765-4321x\n"multi\nline",abc\nD,9812300001\n'
    loaded, problems = check(CSV, {"contacts.csv": text})
    assert loaded is None
    assert problems == [
        "contacts.csv:2:3: phone: '12345' is not a valid phone number (too short)",
        "contacts.csv:3:10: phone: '98765-4321x' is not a valid phone number "
        "(no such number range)",
        "contacts.csv:5:7: phone: 'abc' is not a valid phone number (not a number)",
    ]


def test_values_are_quoted_short(check: Check) -> None:
    text = "phone\n9812300001\n" + "7" * 30 + "\n"
    _, problems = check(CSV, {"contacts.csv": text})
    assert problems == [
        f"contacts.csv:3:1: phone: '{'7' * 20}…' is not a valid phone number (too long)"
    ]


def test_a_file_without_one_valid_number_is_not_quoted(check: Check) -> None:
    text = "phone\nsecret-value-1\nsecret-value-2\n"
    _, problems = check(CSV, {"contacts.csv": text})
    assert problems == [
        f"contacts.csv:{line}:1: phone: not a valid phone number (not a number); value not "
        "shown, since no row of this file holds a valid number (is it a contact list?)"
        for line in (2, 3)
    ]


def test_invalid_numbers_skipped_on_request(check: Check) -> None:
    text = "phone\n9812300001\n12345\n9812300002\n"
    loaded, problems = check(csv_campaign("  on_invalid: skip\n"), {"contacts.csv": text})
    assert problems == [
        "contacts.csv:3:1: warning: phone: '12345' is not a valid phone number (too short); "
        "skipped (contacts.on_invalid: skip)"
    ]
    assert loaded is not None
    assert (loaded.contact_count, loaded.invalid_count, loaded.duplicates) == (2, 1, 0)
    assert list(loaded.iter_rejected()) == [
        RejectedRow(
            "contacts.csv:3", "12345", "invalid", "'12345' is not a valid phone number (too short)"
        )
    ]


def test_duplicates_are_merged_and_reported_with_both_lines(check: Check) -> None:
    text = "phone,name\n9812300001,first\n+91 98123 00001,second\n09812300001,third\n"
    loaded, problems = check(CSV, {"contacts.csv": text})
    assert problems == [
        "contacts.csv:3:1: warning: phone: +919812300001 is also on line 2; merged (the first "
        "row wins)",
        "contacts.csv:4:1: warning: phone: +919812300001 is also on line 2; merged (the first "
        "row wins)",
    ]
    assert loaded is not None
    assert (loaded.contact_count, loaded.duplicates) == (1, 2)
    assert [c.variables["name"] for c in loaded.iter_contacts()] == ["first"]
    assert [(r.source, r.reason) for r in loaded.iter_rejected()] == [
        ("contacts.csv:3", "duplicate"),
        ("contacts.csv:4", "duplicate"),
    ]


def test_duplicates_are_errors_without_dedupe(check: Check) -> None:
    text = "phone\n9812300001\n9812300001\n"
    _, problems = check(CSV + "screening: {dedupe: false}\n", {"contacts.csv": text})
    assert problems == [
        "contacts.csv:3:1: phone: +919812300001 is also on line 2, and screening.dedupe is false"
    ]


def test_row_problems_are_capped_with_a_summary(check: Check) -> None:
    rows = "".join(f"{i}\n" for i in range(60)) + "".join("9812300001\n" for _ in range(5))
    loaded, problems = check(CSV, {"contacts.csv": "phone\n" + rows})
    assert loaded is None
    assert len(problems) == 51
    assert problems[0] == "contacts.csv:2:1: phone: '0' is not a valid phone number (not a number)"
    assert problems[-1] == ("contacts.csv: ... and 14 more row problems (10 errors, 4 warnings)")


def test_delimiter_and_encoding(check: Check) -> None:
    Path("contacts.csv").write_bytes("phone;name\n9812300001;Jos\xe9\n".encode("cp1252"))
    loaded, problems = check(csv_campaign("  delimiter: ';'\n  encoding: cp1252\n"))
    assert problems == []
    assert loaded is not None
    assert [dict(c.variables) for c in loaded.iter_contacts()] == [{"name": "José"}]


def test_undecodable_text_is_reported(check: Check) -> None:
    Path("contacts.csv").write_bytes("phone,name\n9812300001,Jos\xe9\n".encode("cp1252"))
    _, problems = check(CSV)
    assert problems == [
        "contacts.csv:1:1: not valid utf-8 text; set contacts.encoding (e.g. cp1252)"
    ]


def test_unknown_encoding_and_missing_file(check: Check) -> None:
    _, problems = check(csv_campaign("  encoding: klingon\n"), {"contacts.csv": "phone\n"})
    assert problems == ["c.yaml:9:13: contacts.encoding: unknown encoding 'klingon'"]
    Path("contacts.csv").unlink()
    _, problems = check(CSV)
    assert problems == [
        "c.yaml:8:9: contacts.file: no such file: contacts.csv (paths are relative to the "
        "campaign file)"
    ]


def test_codecs_that_are_not_text_and_a_missing_bom_are_problems(check: Check) -> None:
    rows = {"contacts.csv": "phone\n9812300001\n"}
    _, problems = check(csv_campaign("  encoding: zlib_codec\n"), rows)
    assert problems == ["c.yaml:9:13: contacts.encoding: unknown encoding 'zlib_codec'"]
    _, problems = check(csv_campaign("  encoding: utf-16\n"), rows)
    assert problems == [
        "contacts.csv:1:1: not valid utf-16 text; set contacts.encoding (e.g. cp1252)"
    ]


def test_a_line_without_end_is_not_read_whole(check: Check) -> None:
    rows = {"contacts.csv": "phone\n9812300001\n" + "9" * 1_100_000}
    _, problems = check(CSV, rows)
    assert problems == ["contacts.csv:3:1: unreadable CSV: a line longer than 1,048,576 characters"]


INLINE = """\
contacts:
  inline:
    - "9812300001"
    - {phone: "9812300002", name: B}
    - {name: C}
    - {phone: "+919812300001", name: D}
    - {phone: "12"}
"""


def test_inline_contacts_are_located_in_the_campaign_file(check: Check) -> None:
    text = BASE.replace('contacts:\n  inline: ["+919812300001"]\n', INLINE)
    loaded, problems = check(text)
    assert loaded is None
    assert problems == [
        "c.yaml:11:7: contacts.inline.2: missing required key 'phone'",
        "c.yaml:12:15: warning: contacts.inline.3.phone: +919812300001 is also on line 9; merged "
        "(the first row wins)",
        "c.yaml:13:15: contacts.inline.4.phone: '12' is not a valid phone number (too short)",
    ]


def test_inline_contacts_stream_with_their_variables(check: Check) -> None:
    text = BASE.replace('contacts:\n  inline: ["+919812300001"]\n', INLINE.split("    - {name")[0])
    loaded, problems = check(text)
    assert problems == []
    assert loaded is not None
    assert [(c.phone, c.source, dict(c.variables)) for c in loaded.iter_contacts()] == [
        ("+919812300001", "c.yaml:9", {}),
        ("+919812300002", "c.yaml:10", {"name": "B"}),
    ]


@pytest.mark.parametrize("batch", [1, 2, 3, 1000])
def test_dedupe_is_the_same_whatever_the_batch_size(batch: int) -> None:
    from campaigner.campaign.contacts import scan
    from campaigner.campaign.model import Contacts
    from campaigner.campaign.sources import CsvSource

    rows = ["9812300001", "x", "9812300002", "09812300001", "9812300003", "+919812300002"]
    Path("big.csv").write_text("phone\n" + "\n".join(rows) + "\n", encoding="utf-8")
    contacts = Contacts(file="big.csv", on_invalid="skip")
    items = list(
        scan(CsvSource(Path("big.csv"), "big.csv", contacts).rows(), contacts, True, batch)
    )
    summary = [
        (type(i).__name__, getattr(i, "source", None) or f"{i.line}", getattr(i, "reason", ""))
        for i in items
    ]
    assert summary == [
        ("Contact", "big.csv:2", ""),
        ("Problem", "3", ""),
        ("RejectedRow", "big.csv:3", "invalid"),
        ("Contact", "big.csv:4", ""),
        ("Problem", "5", ""),
        ("RejectedRow", "big.csv:5", "duplicate"),
        ("Contact", "big.csv:6", ""),
        ("Problem", "7", ""),
        ("RejectedRow", "big.csv:7", "duplicate"),
    ]


@given(st.lists(st.integers(0, 30), max_size=60), st.integers(1, 7))
def test_seen_numbers_agree_with_a_dict(numbers: list[int], batch: int) -> None:
    from campaigner.campaign.seen import SeenNumbers

    entries = [(f"+9198123{n:05d}", line) for line, n in enumerate(numbers, start=2)]
    expected: list[int | None] = []
    first: dict[str, int] = {}
    for phone, line in entries:
        expected.append(first.get(phone))
        first.setdefault(phone, line)
    with SeenNumbers() as seen:
        got = [
            r
            for i in range(0, len(entries), batch)
            for r in seen.first_lines(entries[i : i + batch])
        ]
    assert got == expected


def test_no_contacts_is_a_warning(check: Check) -> None:
    loaded, problems = check(CSV, {"contacts.csv": "phone,name\n\n"})
    assert problems == ["c.yaml:7:1: warning: contacts: no contact to call"]
    assert loaded is not None
    assert loaded.contact_count == 0
