"""kill -9 at random instants, Ctrl-C, and resume: nothing lost, nobody dialed twice.

The engine runs as ``campaigner run`` in a subprocess against ``campaigner sim`` in
another (which outlives it, as Exotel would), on the real clock.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path

import trio

from tests.engine.outofprocess import (
    KEY,
    TOKEN,
    campaigner,
    check_export_invariants,
    export,
    external_sim,
    free_port,
)
from tests.engine.truth import check_export_truth, fetch_truths

SCENARIO = """
seed: 21
faults: {callback_drop: 0.2, callback_duplicate: 0.1, connect_ambiguous: 0.05,
         ambiguous_hold: 1.0}
"""

CAMPAIGN = """
name: killed
api: v1
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: agent_first
  agents: {agents}
contacts: {{inline: {contacts}}}
call: {{time_limit: 60, ring_timeout: 20}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: 20}}
retry: {{max_attempts: 2, on: [busy, no_answer], backoff: {{first: 2s, max: 4s}}}}
tracking: {{poll_after: 3s, poll_interval: 2s, give_up_after: 30s}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call}}  # this test is about crashes; DND lookups would only slow it
callbacks: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}/cb"}}
"""

MAX_CALLS = 2 + 3  # retry.max_attempts + retry.agent_failures


async def test_kill_9_anywhere_then_resume(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("KILL_SEED", "7")))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    numbers = [f"+9195{i:08d}" for i in range(1, 21)]
    campaign = tmp_path / "killed.yaml"
    agents = [f"+9199{i:08d}" for i in range(1, 21)]
    campaign.write_text(CAMPAIGN.format(contacts=numbers, agents=agents, port=free_port()))
    with external_sim(scenario, time_scale=40) as sim:
        env = {**os.environ, **sim.env()}
        for _ in range(3):
            await run_and_kill(campaign, env, after=rng.uniform(0.5, 4.0), sig=signal.SIGKILL)
        interrupted = await run_and_kill(
            campaign,
            env,
            after=rng.uniform(0.5, 2.0),
            sig=signal.SIGINT,
            grace=2,
            live=b"listening for callbacks",
        )
        assert interrupted.returncode == 130, interrupted.stderr
        assert b"stopping: no new calls" in interrupted.stderr
        # Lost answers are settled only once the call could no longer be running (the
        # reconciler's safe span, on the engine's real clock): about a minute here.
        with trio.fail_after(360):
            final = await trio.run_process(
                campaigner(["run", str(campaign), "-q", "--yes"]),
                env=env,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        assert final.returncode == 0, final.stderr.decode()[-2000:]
        assert b"resuming from the journal" in final.stderr
        records = export(campaign, sim.env())
        check_export_invariants(records, sim.calls(), max_calls=MAX_CALLS)
        # every call's outcome is what really happened (or honestly unknown: give_up 30 s)
        check_export_truth(
            records, fetch_truths(sim.url, (KEY, TOKEN)), allow_unknown=True, recording=False
        )


async def run_and_kill(
    campaign: Path,
    env: dict[str, str],
    *,
    after: float,
    sig: int,
    grace: float = 60,
    live: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Start a run and send it ``sig`` ``after`` seconds (real time) from its start, or
    from when its stderr shows ``live``; return once it has ended."""
    args = campaigner(["run", str(campaign), "-q", "--yes", "--grace", str(grace)])
    process = await trio.lowlevel.open_process(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr = bytearray()
    started = trio.Event()
    if live is None:
        started.set()

    async def read_all() -> None:
        assert process.stderr is not None
        async for chunk in process.stderr:
            stderr.extend(chunk)
            if live is not None and live in stderr:
                started.set()
        started.set()  # it ended before showing the marker

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_all)
            await started.wait()
            await trio.sleep(after)
            if process.returncode is None:
                process.send_signal(sig)
            await process.wait()
    return subprocess.CompletedProcess(args, process.returncode, b"", bytes(stderr))
