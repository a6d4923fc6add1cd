"""Ctrl-C at several instants, then resume, then the truth check: in the sandbox, as an
operator trying the demo would do it (issue 13).

Each ``campaigner run --sandbox`` starts a new simulator in its own process. The sandbox
keeps its simulator's calls in a ledger beside the journal and the next run restores
them (campaigner/sandbox.py), so a call still going at the Ctrl-C ends in the resumed run
with its true outcome, not ``unknown``; and the ledger is what lets this test judge every
call of every run against what really happened after the processes are gone. The runs are
real subprocesses, interrupted with a real SIGINT, on the sandbox's fast clock.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing

from campaigner.errors import StateError
from campaigner.sandbox import (
    LEDGER_SUFFIX,
    _line,
    ledger_for,
    ledger_truths,
    read_ledger,
    restore,
    write_ledger,
)
from campaigner.simulator import Scenario, Simulator
from campaigner.simulator.inspect import truths
from campaigner.simulator.timeline import SimCall
from tests.engine.outofprocess import campaigner, export
from tests.engine.truth import from_export, judge

DEMO = Path(__file__).resolve().parents[2] / "campaigns" / "demo.yaml"
MODE = "agent_first"  # demo.yaml: dial.mode
RETRYABLE = {"busy", "no_answer"}  # demo.yaml: retry.on
MAX_ATTEMPTS = 2  # demo.yaml: retry.max_attempts
AGENT_SIDE = "agent_unanswered"  # does not spend the contact's attempt
MAX_CALLS = MAX_ATTEMPTS + 3  # + retry.agent_failures (its default)
RUN = ["--sandbox", "--time-scale", "60", "-q"]


def _demo_in(tmp_path: Path) -> Path:
    """demo.yaml as shipped, with its journal and report kept in ``tmp_path``."""
    text = DEMO.read_text(encoding="utf-8")
    for key in ("state", "report"):
        assert f"\n{key}: " in text, f"demo.yaml no longer sets {key}"
    lines = [
        "state: state"  # beside the copy: campaign paths stay inside its folder
        if line.startswith("state: ")
        else "report: demo.html"
        if line.startswith("report: ")
        else line
        for line in text.splitlines()
    ]
    campaign = tmp_path / "demo.yaml"
    campaign.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return campaign


def _count(journal: Path, where: str) -> int:
    """Journaled calls matching ``where`` (0 before the journal exists)."""
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
            row = conn.execute(f"SELECT count(*) FROM calls WHERE {where}").fetchone()
    except sqlite3.Error:
        return 0  # created but not yet initialised
    return int(row[0])


def _placed(journal: Path) -> int:
    return _count(journal, "sid IS NOT NULL")


def _in_flight(journal: Path) -> int:
    return _count(journal, "sid IS NOT NULL AND open")


async def _run_until(campaign: Path, ready: Callable[[], bool]) -> tuple[int, bytes]:
    """Run the demo and send SIGINT once ``ready()``; (exit code, stderr)."""
    process = await trio.lowlevel.open_process(
        campaigner(["run", str(campaign), *RUN]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stderr = bytearray()

    async def drain() -> None:
        assert process.stderr is not None
        async for chunk in process.stderr:
            stderr.extend(chunk)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            # Another process writes the journal: nothing to wait on but its contents.
            while process.returncode is None and not ready():  # noqa: ASYNC110
                await trio.sleep(0.05)
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            code = await process.wait()
    return code, bytes(stderr)


def _check_policy(records: list[dict[str, object]]) -> None:
    """Nobody called twice for one attempt, nor more than the retry policy allows."""
    for record in records:
        calls = record["calls"]
        assert isinstance(calls, list)
        assert len(calls) <= MAX_CALLS, f"{record['phone']} was called {len(calls)} times"
        reached = [c["attempt"] for c in calls if c["outcome"] != AGENT_SIDE]
        assert len(reached) == len(set(reached)), f"{record['phone']} called twice: {calls}"
        assert len(reached) <= MAX_ATTEMPTS, f"{record['phone']}: {calls}"
        for call in calls[:-1]:
            again = call["outcome"] in RETRYABLE or call["outcome"] == AGENT_SIDE
            assert again, f"{record['phone']} was called again after {call}"


@pytest.mark.slow
async def test_ctrl_c_at_several_instants_then_resume_then_truth(tmp_path: Path) -> None:
    campaign = _demo_in(tmp_path)
    journal = tmp_path / "state" / "demo.sqlite3"
    ledger = ledger_for(journal)
    # After the first call; after three more; and at an instant a call is surely in flight.
    instants: list[Callable[[int], Callable[[], bool]]] = [
        lambda before: lambda: _placed(journal) >= 1,
        lambda before: lambda: _placed(journal) >= before + 3,
        lambda before: lambda: _placed(journal) > before and _in_flight(journal) > 0,
    ]
    interrupted_open: set[str] = set()  # calls still open when a run was interrupted
    for instant in instants:
        before = _placed(journal)
        code, stderr = await _run_until(campaign, instant(before))
        assert code == 130, stderr.decode()[-2000:]
        assert _placed(journal) > before, "the run was interrupted before it placed a call"
        records = export(campaign, {})
        assert any(r["state"] != "done" for r in records), "the run was not interrupted"
        interrupted_open |= {
            c["sid"] for r in records for c in r["calls"] if c["sid"] and c["outcome"] is None
        }
        _check_policy(records)
    assert interrupted_open, "no Ctrl-C caught a call in flight"

    with trio.fail_after(60):
        final = await trio.run_process(
            campaigner(["run", str(campaign), *RUN]),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    assert b"IntegrityError" not in final.stderr

    records = export(campaign, {})
    sids = [c["sid"] for r in records for c in r["calls"] if c["sid"]]
    assert len(sids) == len(set(sids)), "two calls share a SID"
    assert interrupted_open <= set(sids)
    for record in records:
        assert record["state"] == "done", record
        assert record["outcome"], record
    _check_policy(records)

    # Every call of the four runs against what the simulators really did. The calls in
    # flight at a Ctrl-C were restored into the next run's simulator: no `unknown` needed.
    facts = ledger_truths(ledger)
    assert {truth.sid for truth in facts} == set(sids), "the ledger and the journal disagree"
    verdict = judge(from_export(records), facts, mode=MODE, recording=None)
    verdict.fail_if_wrong()
    assert verdict.checked == len(sids)
    outcome_of = {c["sid"]: c["outcome"] for r in records for c in r["calls"]}
    assert all(outcome_of[sid] != "unknown" for sid in interrupted_open), outcome_of


# ---- the ledger itself, in process and in virtual time ------------------------------------

AGENT, CUSTOMER, EXOPHONE = "+919800000001", "+919811111111", "+912241499102"
TIMING = {"queue": [1, 1], "ring": [5, 5], "talk": [60, 60], "record_finalize_delay": 120}


async def _connect(sim: Simulator, count: int) -> list[str]:
    """Place ``count`` recorded v1 calls from AGENT to CUSTOMER; their SIDs."""
    sids = []
    async with httpx.AsyncClient(
        transport=sim.transport(), base_url="http://sim", auth=("sandbox-key", "sandbox-token")
    ) as api:
        for _ in range(count):
            answer = await api.post(
                "/v1/Accounts/sandbox/Calls/connect.json",
                data={"From": AGENT, "To": CUSTOMER, "CallerId": EXOPHONE, "Record": "true"},
            )
            assert answer.status_code == 200, answer.text
            sids.append(answer.json()["Call"]["Sid"])
    return sids


async def test_a_restored_call_goes_on_from_where_it_was(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    scenario = Scenario.model_validate({"seed": 3, "timing": TIMING})
    ledger = tmp_path / f"demo{LEDGER_SUFFIX}"
    first = Simulator(scenario)

    def append(call: SimCall) -> None:
        with ledger.open("a", encoding="utf-8") as file:
            file.write(_line(call, 0.0))

    first.book.on_create = append
    sids = await _connect(first, 3)
    await trio.sleep(10)  # Ctrl-C mid-call: leg 2 ringing, nobody talking yet
    write_ledger(first, ledger)
    before = {info.sid: info for info in first.calls()}

    await trio.sleep(1000)  # the operator takes a while to resume
    second = Simulator(scenario)
    restore(second, ledger)
    assert [info.sid for info in second.calls()] == sids
    for info in second.calls():
        was = before[info.sid]
        # The same fate, and the same time left to reach it on the new clock.
        assert (info.status, info.kind) == (was.status, was.kind)
        assert info.ended_at - info.created_at == pytest.approx(was.ended_at - was.created_at)
        assert trio.current_time() - info.created_at == pytest.approx(10.0)
    facts = {truth.sid: truth for truth in ledger_truths(ledger, scenario)}
    for truth in truths(first):
        got = facts[truth.sid]
        assert (got.legs, got.talk, got.kind) == (truth.legs, truth.talk, truth.kind)
        assert got.recording_url == truth.recording_url
    assert len(await _connect(second, 1)) == 1  # new SIDs never collide with restored ones
    assert len(second.calls()) == 4


def test_a_ledger_cut_short_by_a_kill_loses_only_its_last_line(tmp_path: Path) -> None:
    journal = tmp_path / "demo.sqlite3"
    ledger = ledger_for(journal)
    ledger.write_text("not json\n", encoding="utf-8")
    assert ledger_for(journal) == ledger
    assert not ledger.exists(), "a ledger without its journal must not be inherited"
    journal.touch()
    ledger.write_text('{"call": {"sid": "x"', encoding="utf-8")
    assert read_ledger(ledger_for(journal)) == []
    ledger.write_text('{"call": {}}\n{"call": {"sid": "x"', encoding="utf-8")
    with pytest.raises(StateError, match=r"demo\.sandbox-calls\.jsonl, line 1: not a sandbox"):
        read_ledger(ledger)
