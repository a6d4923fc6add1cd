"""Ctrl-C, then resume, in the sandbox: as an operator trying the demo would do it.

Each ``campaigner run --sandbox`` starts a new simulator while the journal keeps the SIDs
the previous one handed out, and ``calls.sid`` is unique: with SIDs drawn from the
scenario seed alone, the resumed run crashed on the first call it placed. The runs are
real subprocesses, interrupted with a real SIGINT, on the sandbox's fast clock.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
import trio

from tests.engine.outofprocess import campaigner, export

DEMO = Path(__file__).resolve().parents[2] / "campaigns" / "demo.yaml"
RETRYABLE = {"busy", "no_answer"}  # demo.yaml: retry.on
MAX_ATTEMPTS = 2  # demo.yaml: retry.max_attempts
AGENT_SIDE = "agent_unanswered"  # does not spend the contact's attempt
MAX_CALLS = MAX_ATTEMPTS + 3  # + retry.agent_failures (its default)
CALLS_BEFORE_CTRL_C = 3


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


def _placed(journal: Path) -> int:
    """Calls the running engine has journaled as placed (0 before the journal exists)."""
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT count(*) FROM calls WHERE sid IS NOT NULL").fetchone()
    except sqlite3.Error:
        return 0  # created but not yet initialised
    return int(row[0])


async def _run_until_calls(campaign: Path, journal: Path) -> tuple[int, bytes]:
    """Run the demo, send SIGINT once a few calls are placed; (exit code, stderr)."""
    args = campaigner(["run", str(campaign), "--sandbox", "--time-scale", "30", "-q"])
    process = await trio.lowlevel.open_process(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr = bytearray()

    async def drain() -> None:
        assert process.stderr is not None
        async for chunk in process.stderr:
            stderr.extend(chunk)

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            # Another process writes the journal: nothing to wait on but its contents.
            while process.returncode is None and _placed(journal) < CALLS_BEFORE_CTRL_C:  # noqa: ASYNC110
                await trio.sleep(0.1)
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            code = await process.wait()
    return code, bytes(stderr)


@pytest.mark.slow
async def test_ctrl_c_then_resume_in_the_sandbox(tmp_path: Path) -> None:
    campaign = _demo_in(tmp_path)
    journal = tmp_path / "state" / "demo.sqlite3"
    code, stderr = await _run_until_calls(campaign, journal)
    assert code == 130, stderr.decode()[-2000:]
    first = export(campaign, {})
    first_sids = {c["sid"] for r in first for c in r["calls"] if c["sid"]}
    assert len(first_sids) >= CALLS_BEFORE_CTRL_C
    assert any(r["state"] != "done" for r in first), "the first run was not interrupted"

    with trio.fail_after(180):
        final = await trio.run_process(
            campaigner(["run", str(campaign), "--sandbox", "--time-scale", "30", "-q"]),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    assert b"IntegrityError" not in final.stderr

    records = export(campaign, {})
    sids = [c["sid"] for r in records for c in r["calls"] if c["sid"]]
    assert len(sids) == len(set(sids)), "two calls share a SID"
    assert first_sids < set(sids), "the resumed run lost calls of the first"
    for record in records:
        assert record["state"] == "done", record
        assert record["outcome"], record
        calls = record["calls"]  # in the order they were made
        assert len(calls) <= MAX_CALLS, f"{record['phone']} was called {len(calls)} times"
        reached = [c["attempt"] for c in calls if c["outcome"] != AGENT_SIDE]
        assert len(reached) == len(set(reached)), f"{record['phone']} called twice: {calls}"
        assert len(reached) <= MAX_ATTEMPTS, f"{record['phone']}: {calls}"
        for call in calls[:-1]:
            again = call["outcome"] in RETRYABLE or call["outcome"] == AGENT_SIDE
            assert again, f"{record['phone']} was called again after {call}"
