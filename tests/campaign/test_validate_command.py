"""``validate`` and ``schema`` through ``main()``: output, exit codes, JSON, no network."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from campaigner import cli
from campaigner.commands.schema import render
from tests.campaign.conftest import BASE, write

Capture = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead registers the commands in cli.COMMANDS; until then, register them here."""
    names = tuple(dict.fromkeys((*cli.COMMANDS, "validate", "schema")))
    monkeypatch.setattr(cli, "COMMANDS", names)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """validate must never open a connection: any socket use fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validate tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_examples_are_valid(repo: Path, capsys: Capture) -> None:
    files = sorted(str(p) for p in (repo / "campaigns").glob("*.yaml"))
    assert len(files) >= 4
    assert cli.main(["validate", *files]) == 0
    out = capsys.readouterr().out
    for name in files:
        assert f"{name}: ok, " in out


def test_valid_file_summary(capsys: Capture) -> None:
    write("ok.yaml", BASE.replace("2026-11-30", "2099-11-30"))
    assert cli.main(["validate", "ok.yaml"]) == 0
    assert capsys.readouterr().out == "ok.yaml: ok, 1 contact, 0 warnings\n"


def test_summary_counts_duplicates_and_skipped_rows(capsys: Capture) -> None:
    write("contacts.csv", "phone\n9812300001\n9812300001\n12\n9812300002\n")
    text = BASE.replace('inline: ["+919812300001"]', "file: contacts.csv\n  on_invalid: skip")
    write("c.yaml", text.replace("2026-11-30", "2099-11-30"))
    assert cli.main(["validate", "c.yaml"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "contacts.csv:3:1: warning: phone: +919812300001 is also on line 2; merged (the first "
        "row wins)",
        "contacts.csv:4:1: warning: phone: '12' is not a valid phone number (too short); "
        "skipped (contacts.on_invalid: skip)",
        "c.yaml: ok, 2 contacts (1 duplicate merged, 1 invalid skipped), 2 warnings",
    ]


def test_invalid_and_valid_files_together_exit_1(capsys: Capture) -> None:
    write("ok.yaml", BASE.replace("2026-11-30", "2099-11-30"))
    write("bad.yaml", BASE.replace("api: v1", "api: v9").replace("2026-11-30", "2099-11-30"))
    assert cli.main(["validate", "bad.yaml", "ok.yaml"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "bad.yaml:2:6: api: input should be 'v1' or 'v3' (got 'v9')",
        "bad.yaml: invalid, 1 error, 0 warnings",
        "ok.yaml: ok, 1 contact, 0 warnings",
    ]


def test_strict_makes_warnings_fatal(capsys: Capture) -> None:
    write("w.yaml", BASE.replace("schedule:\n  deadline: 2026-11-30T20:00:00+05:30\n", ""))
    assert cli.main(["validate", "w.yaml"]) == 0
    capsys.readouterr()
    assert cli.main(["validate", "--strict", "w.yaml"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "w.yaml:1:1: warning: schedule: no deadline: the run goes on until every contact is final",
        "w.yaml: invalid (--strict), 1 contact, 1 warning",
    ]


def test_json_output(capsys: Capture) -> None:
    write("bad.yaml", BASE.replace("api: v1", "api: v9"))
    assert cli.main(["validate", "--format", "json", "bad.yaml"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "valid": False,
        "files": [
            {
                "file": "bad.yaml",
                "valid": False,
                "errors": 1,
                "warnings": 0,
                "contacts": None,
                "duplicates": None,
                "invalid": None,
                "problems": [
                    {
                        "file": "bad.yaml",
                        "line": 2,
                        "col": 6,
                        "severity": "error",
                        "message": "api: input should be 'v1' or 'v3' (got 'v9')",
                    }
                ],
            }
        ],
    }


def test_missing_file_exits_1(capsys: Capture) -> None:
    assert cli.main(["validate", "nope.yaml"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "nope.yaml: cannot read the file: No such file or directory",
        "nope.yaml: invalid, 1 error, 0 warnings",
    ]


def test_validate_needs_a_file(capsys: Capture) -> None:
    assert cli.main(["validate"]) == 2
    assert "the following arguments are required: FILE" in capsys.readouterr().err


def test_schema_prints_the_published_schema(capsys: Capture) -> None:
    assert cli.main(["schema"]) == 0
    assert capsys.readouterr().out == render()
    assert cli.main(["schema", "-o", "out.json"]) == 0
    assert Path("out.json").read_text(encoding="utf-8") == render()
