"""The operator's commands end to end: plan, run --sandbox, status, export, report."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest

from campaigner.cli import main
from campaigner.commands import run as run_command
from campaigner.sandbox import Sandbox
from campaigner.simulator.inspect import truths
from tests.engine.truth import from_export, judge

CAMPAIGN = """
name: cli-demo
api: v1
caller_ids: ["+912241499102", "+918047091234"]
dial: {mode: agent_first, agents: ["+919900000001", "+919900000002"]}
contacts:
  file: people.csv
call: {custom_field: "{{ order_id }}"}
retry: {max_attempts: 2, on: [busy, no_answer], backoff: {first: 5m}}
schedule: {deadline: 2099-12-31T20:00:00+05:30}
callbacks: {public_url: "https://hooks.example.com/exotel"}
screening: {dnd: call}
"""

PEOPLE = """phone,name,order_id,phone_2
98765 43001,Asha,ORD-1,x
098765-43002,"Ravi <b>",ORD-2,y
+91 98765 43003,Meena,ORD-3,z
98765 43001,Asha again,ORD-4,w
12345,Broken,ORD-5,v
"""


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    (tmp_path / "people.csv").write_text(PEOPLE)
    path = tmp_path / "cli-demo.yaml"
    text = textwrap.dedent(CAMPAIGN).replace(
        "file: people.csv", "file: people.csv\n  on_invalid: skip"
    )
    path.write_text(text)
    return path


def test_plan_text_and_requests(campaign: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(campaign), "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "contacts      3 to call (1 invalid skipped, 1 duplicates merged)" in out
    assert "callbacks     https://hooks.example.com/exotel/<token>/v1" in out
    assert out.count("# request ") == 2
    assert "--data-urlencode CustomField=ORD-1" in out
    assert "-H 'Authorization: Basic ********'" in out


def test_plan_json(campaign: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(campaign), "--format", "json", "--show", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["contacts"], doc["invalid"], doc["duplicates"]) == (3, 1, 1)
    assert doc["pace"]["bottleneck"] in ("API budget", "agents", "concurrency")
    assert doc["requests"][0]["form"]["To"] == "+919876543001"


class Watched(Sandbox):
    """The sandbox ``run --sandbox`` uses, kept so the test can ask its simulator."""

    last: Watched | None = None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        Watched.last = self


def test_run_sandbox_then_status_export_report(
    campaign: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_command, "Sandbox", Watched)
    assert main(["run", str(campaign), "--sandbox", "-q"]) == 0
    err = capsys.readouterr().err
    assert "done: every contact has a final outcome" in err
    report = campaign.parent / "reports" / "cli-demo.html"
    assert f"report: {report}" in err
    assert report.exists()

    assert main(["status", str(campaign), "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["contacts"] == 3
    assert status["in_flight"] == 0
    assert status["last_run"]["exit_reason"] == "complete"

    assert main(["export", str(campaign), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    # every exported call is what really happened in the sandbox (outcome, talk, recording)
    assert Watched.last is not None
    assert Watched.last.simulator is not None
    facts = truths(Watched.last.simulator)
    verdict = judge(from_export(records), facts, mode="agent_first", recording=False)
    verdict.fail_if_wrong()
    assert verdict.checked == len(facts) > 0
    by_phone = {r["phone"]: r for r in records}
    # skipped rows (invalid, duplicate) are exported with the number as written
    assert set(by_phone) == {
        "+919876543001",
        "+919876543002",
        "+919876543003",
        "12345",
        "98765 43001",
    }
    asha = by_phone["+919876543001"]
    assert asha["variables"] == {"name": "Asha", "order_id": "ORD-1", "phone_2": "x"}
    assert asha["outcome"] in ("connected", "busy", "no_answer", "failed", "agent_unanswered")
    assert all(
        {"sid", "status", "outcome", "started_at", "ended_at", "talk_time", "recording_url"}
        <= set(call)
        for r in records
        for call in r["calls"]
    )
    assert by_phone["12345"]["outcome"] == "skipped"
    assert by_phone["12345"]["reason"] == "invalid"
    assert sum(r["reason"] == "duplicate" for r in records) == 1

    assert main(["export", str(campaign), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0])[:10] == [
        "phone",
        "outcome",
        "reason",
        "state",
        "attempts",
        "source",
        "name",
        "order_id",
        "phone_2",
        "call_sid",
    ]
    # one row per call (tests/security/test_export.py has the details)
    assert len([r for r in rows if r["call_sid"]]) == sum(len(r["calls"]) for r in records)
    assert {r["name"] for r in rows if r["phone"] == "+919876543002"} == {"Ravi <b>"}

    # Running again resumes a finished campaign: nothing more is dialed.
    assert main(["run", str(campaign), "--sandbox", "-q", "--no-report"]) == 0
    err = capsys.readouterr().err
    assert "resuming from the journal" in err
    assert "report:" not in err


def test_status_without_a_journal(campaign: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(campaign)]) == 4
    assert "no journal yet (the campaign has not been run)" in capsys.readouterr().err


def test_run_without_credentials_says_where_they_belong(
    campaign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(campaign)]) == 3
    err = capsys.readouterr().err
    assert "missing EXOTEL_API_KEY, EXOTEL_API_TOKEN, EXOTEL_ACCOUNT_SID" in err


def test_sandbox_and_real_journals_never_mix(
    campaign: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["run", str(campaign), "--sandbox", "-q", "--no-report"]) == 0
    state = campaign.parent / ".campaigner"
    # simulated DND answers and calls stay out of the state real runs share
    assert (state / "shared.sandbox.sqlite3").exists()
    assert not (state / "shared.sqlite3").exists()
    capsys.readouterr()
    for name, value in (
        ("EXOTEL_API_KEY", "k"),
        ("EXOTEL_API_TOKEN", "t"),
        ("EXOTEL_ACCOUNT_SID", "acme"),
        ("EXOTEL_BASE_URL", "http://127.0.0.1:9"),
    ):
        monkeypatch.setenv(name, value)
    assert main(["run", str(campaign), "-q"]) == 4
    err = capsys.readouterr().err
    assert "holds a sandbox run (simulated calls); a real run cannot resume it" in err


def test_a_sandbox_run_never_writes_into_a_real_journal(
    campaign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from campaigner.store.journal import Journal

    path = campaign.parent / ".campaigner" / "cli-demo.sqlite3"
    with Journal.open(path) as journal:  # what a real run leaves behind
        journal.set_meta("campaign", "cli-demo")
        journal.set_meta("sandbox", "0")
    assert main(["run", str(campaign), "--sandbox", "-q", "--no-report"]) == 4
    assert "holds a real run; a sandbox run would mix simulated calls into it" in (
        capsys.readouterr().err
    )
