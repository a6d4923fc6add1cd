"""A run against the simulator while a flood of forged callbacks hits its receiver.

The attacker knows the receiver's address and, by watching, the real call SIDs (read
here from the simulator), but not the run's secret token: thousands of forged terminal
callbacks claim the wrong outcome for real calls, and garbage goes to every path. The
run must finish with exactly the outcomes Exotel (the simulator) settled on, keep its
promises, and log the refusals once, not thousands of times.

Both processes run 30 times faster than real (``tests/chaos/processes.py``); about 15 s.
"""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.chaos.processes import ScaledSim, child_env, engine_args, run_engine, scaled_sim
from tests.engine.outofprocess import check_export_invariants, export, free_port

RATE = 30.0
CONTACTS = 80
CAMPAIGN = """\
name: flooded
api: v1
caller_ids: ["+912241499102", "+918047091234"]
dial: {{mode: agent_first, agents: {agents}}}
contacts: {{file: contacts.csv}}
retry: {{max_attempts: 1}}
pacing: {{max_concurrent_calls: 40}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call}}
callbacks: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}/cb",
            events: [terminal, answered]}}
"""
LIES = {"completed": "busy", "busy": "completed", "no-answer": "completed", "failed": "completed"}


def forged(call: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A path with a guessed token and a terminal callback that lies about ``call``."""
    token = rng.choice(["guess", "x" * 32, "", "%00", "../" * 3, "heartbeat"])
    route = rng.choice(["v1", "v3", "heartbeat"])
    body = {
        "CallSid": call["sid"],
        "EventType": "terminal",
        "Status": LIES.get(call["status"], "completed"),
        "Legs": [{"Status": "completed"}, {"Status": "busy"}],
    }
    return f"/cb/{token}/{route}", body


async def flood(sim: ScaledSim, port: int, sent: list[int], stop: trio.Event) -> None:
    """Eight forgers, each posting as fast as the receiver answers, until ``stop``."""
    url = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=8, keepalive_expiry=0.5)
    calls: list[dict[str, Any]] = [{"sid": "none", "status": "completed"}]

    async def watch() -> None:  # the attacker learns the real SIDs as calls are placed
        while not stop.is_set():
            calls[:] = (await trio.to_thread.run_sync(sim.calls))[-200:] or calls
            await trio.sleep(0.5)

    async def forger(http: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            path, body = forged(rng.choice(calls), rng)
            # the engine may not be listening yet: keep flooding
            with contextlib.suppress(httpx.HTTPError):
                await http.post(url + path, content=json.dumps(body))
            sent[0] += 1

    async with httpx.AsyncClient(timeout=5, limits=limits) as http, trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        for seed in range(8):
            nursery.start_soon(forger, http, seed)


@pytest.mark.slow
# Forgeries in flight when the engine exits are cut off mid-answer; httpx leaves their body
# iterators (async generators) to the garbage collector, which reports them.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_run_keeps_its_outcomes_under_a_flood_of_forged_callbacks(tmp_path: Path) -> None:
    port = free_port()
    agents = [f"+9199{i:08d}" for i in range(1, 41)]
    (tmp_path / "contacts.csv").write_text(
        "phone\n" + "".join(f"+9196{i:08d}\n" for i in range(1, CONTACTS + 1))
    )
    campaign = tmp_path / "flooded.yaml"
    campaign.write_text(CAMPAIGN.format(agents=json.dumps(agents), port=port))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        json.dumps(
            {
                "seed": 3,
                "callbacks": {"timeout": 15 * RATE},
                "timing": {"talk": [5, 30], "record_finalize_delay": 20},
            }
        )
    )
    sent = [0]
    with scaled_sim(scenario, RATE, tmp_path / "sim.log") as sim:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(flood, sim, port, sent, stop)
            ended = await run_engine(
                engine_args(campaign, RATE), child_env(sim.env()), tmp_path / "engine.log"
            )
            stop.set()
        calls = sim.calls()
        records = export(campaign, sim.env())
    assert ended.returncode == 0, ended.log[-3000:]
    assert sent[0] > 1000
    check_export_invariants(records, calls, max_calls=1 + 3)  # max_attempts + agent_failures
    truth = {c["sid"]: c["status"] for c in calls}
    exported = {c["sid"]: c["status"] for r in records for c in r["calls"]}
    assert exported == truth
    # Warned about once a minute (of the run's clock), not once per forgery.
    minutes = ended.result()["sim_seconds"] / 60  # type: ignore[index]
    refusals = ended.log.count("refused a callback with a wrong token")
    assert 1 <= refusals <= minutes + 1 < sent[0] / 100, ended.log[-3000:]
