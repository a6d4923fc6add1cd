"""Opt-out files: one number per line or a CSV with a phone column, any contact format."""

from __future__ import annotations

from pathlib import Path

from campaigner.screening.optout import read_opt_outs


def test_one_number_per_line_in_any_format(tmp_path: Path) -> None:
    (tmp_path / "dnc.txt").write_text(
        "098123 00001\n+91-98123-00002\n\n9812300003\nnot a number\n0091 98123 00004\n"
    )
    found = read_opt_outs(tmp_path, ["dnc.txt"])
    assert found.numbers == {
        "+919812300001",
        "+919812300002",
        "+919812300003",
        "+919812300004",
    }
    assert found.unreadable == 1
    assert "+919812300002" in found
    assert len(found) == 4


def test_csv_with_a_phone_column(tmp_path: Path) -> None:
    (tmp_path / "optout.csv").write_text(
        "name,mobile,since\nAsha,09812300001,2026-01-01\nRavi,+919812300002,2026-02-01\n"
    )
    found = read_opt_outs(tmp_path, ["optout.csv"])
    assert found.numbers == {"+919812300001", "+919812300002"}
    assert found.unreadable == 0


def test_the_campaigns_phone_column_and_several_files(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("customer;cell_no\nA;9812300001\n")
    (tmp_path / "b.txt").write_text("9812300009\n")
    found = read_opt_outs(tmp_path, ["a.csv", "b.txt"], phone_column="cell_no")
    assert found.numbers == {"+919812300001", "+919812300009"}
    assert found.files == ("a.csv", "b.txt")


def test_an_empty_file_opts_nobody_out(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\n")
    assert read_opt_outs(tmp_path, ["empty.txt"]).numbers == frozenset()
