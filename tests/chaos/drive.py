"""One chaos campaign: every fault on at once, kill -9 again and again, resume, check.

Shared by the short chaos test (``tests/chaos/test_chaos.py``, a few hundred calls in
``make test``) and the soak (``tests/soak``, 50,000 calls, opt-in). The simulator runs
in its own process and outlives every engine; the engine is killed with SIGKILL at
random instants (seeded), once stopped with Ctrl-C, and resumed until the campaign is
complete. Then the promises are checked from the outside, on ``campaigner export``
against the simulator's own record of every call it placed (``/_sim/calls``), and every
exported call's outcome, talk time and recording against what really happened on it
(``/_sim/truth``, tests/engine/truth.py).
"""

from __future__ import annotations

import json
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.chaos.processes import Ended, ScaledSim, child_env, engine_args, run_engine, scaled_sim
from tests.engine.outofprocess import (
    KEY,
    SID,
    TOKEN,
    check_export_invariants,
    export,
    free_port,
)
from tests.engine.truth import check_export_truth

SECRET = "chaos-heartbeat-secret-0123"
CALLER_IDS = ["+912241499102", "+918047091234", "+911139585476"]
SIDS = ["02241499102", "08047091234", "01139585476"]
BUSY_AGENT = "+919900000001"
MAX_ATTEMPTS, AGENT_FAILURES = 2, 3
MAX_CALLS = MAX_ATTEMPTS + AGENT_FAILURES  # what the policy allows one contact
OUTAGE_EVERY = 900.0  # simulated seconds between caller ID outages (a heartbeat failover)
BURST_EVERY = 120.0  # simulated seconds between 429 bursts: several per run, so one falls
# while an engine is alive whatever the kill instants (one burst could land in a restart)
EXITS = {0: "complete", 6: "paused by the circuit breaker", 130: "interrupted"}

CAMPAIGN = """\
name: chaos
api: v1
caller_ids: {caller_ids}
dial: {{mode: agent_first, agents: {agents}}}
contacts: {{file: contacts.csv}}
call: {{time_limit: 120, ring_timeout: 30}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: {agents_n}}}
retry: {{max_attempts: {attempts}, agent_failures: {agent_failures}, on: [busy, no_answer],
        backoff: {{first: 1m, max: 2m}}}}
tracking: {{poll_after: 1m, poll_interval: 30s, give_up_after: {give_up}}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call}}  # DND comes from 403 NDNC on connect (dnd_fraction)
health: {{failover: true}}
callbacks: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}/cb",
            events: [terminal, answered]}}
"""


@dataclass(frozen=True)
class Chaos:
    """The size and pace of one chaos campaign."""

    contacts: int
    rate: float  # simulated seconds per real second (both processes)
    kills: int  # SIGKILLs, at instants drawn from kill_after
    kill_after: tuple[float, float]  # real seconds after a run starts listening
    seed: int = 7
    agents: int = 60
    give_up: str = "5m"
    sim_seconds: float = 3600.0  # how long the fault timeline must cover
    run_timeout: float = 600.0  # real seconds one engine run may take


@dataclass
class Report:
    """What a chaos campaign did."""

    contacts: int
    calls: int = 0
    kills: int = 0
    interrupts: int = 0
    runs: list[str] = field(default_factory=list)  # how each engine run ended
    seconds: float = 0.0
    sim: dict[str, Any] = field(default_factory=dict)  # /_sim/stats at the end
    outcomes: dict[str, int] = field(default_factory=dict)
    untrue: dict[str, int] = field(default_factory=dict)  # "true -> recorded": honest unknowns

    def summary(self) -> str:
        return json.dumps(
            {k: v for k, v in vars(self).items() if k != "sim"} | {"sim": self.sim}, indent=1
        )


def scenario(chaos: Chaos, port: int) -> str:
    """Every fault at once; outages of one caller ID after another, and 429 bursts."""
    outages = []
    for k in range(int(chaos.sim_seconds // OUTAGE_EVERY) + 1):
        sid = SIDS[k % 2]  # the first two fail over to each other
        start = 120 + k * OUTAGE_EVERY
        outages.append({"at": start, "exophone": sid, "outgoing": "major_outage"})
        outages.append({"at": start + 300, "exophone": sid, "outgoing": "active"})
    bursts = [
        {"at": 60 + k * BURST_EVERY, "duration": 10}
        for k in range(int(chaos.sim_seconds // BURST_EVERY) + 1)
    ]
    doc = {
        "seed": chaos.seed,
        "exophones": [
            {"number": CALLER_IDS[0], "alternates": [SIDS[1]]},
            {"number": CALLER_IDS[1], "alternates": [SIDS[0]]},
            {"number": CALLER_IDS[2]},
        ],
        "agents": {BUSY_AGENT: {"busy": True}},
        "dnd_fraction": 0.02,
        "timing": {"talk": [10, 60], "record_finalize_delay": 60},
        # trio seconds here are simulated ones: give the receiver 15 real seconds
        "callbacks": {"retries": 3, "backoff": 5, "timeout": 15 * chaos.rate},
        "faults": {
            "callback_drop": 0.1,
            "callback_duplicate": 0.1,
            "callback_delay": 0.1,
            "callback_delay_range": [5, 90],
            "callback_reorder": 0.1,
            "early_callback": 0.03,
            "connect_ambiguous": 0.02,
            "connect_5xx": 0.02,
            "get_5xx": 0.05,
            "plain_429": 0.5,
            "bursts": bursts,
            "ambiguous_hold": 20,
        },
        "heartbeat": {
            "url": f"http://127.0.0.1:{port}/cb/heartbeat/{SECRET}",
            "interval": 60,
            "timeline": outages,
        },
    }
    return json.dumps(doc)  # JSON is YAML


def write_files(work: Path, chaos: Chaos) -> tuple[Path, Path]:
    """(scenario, campaign) files for ``chaos`` in ``work``."""
    port = free_port()
    agents = [BUSY_AGENT] + [f"+9199{i:08d}" for i in range(2, chaos.agents + 1)]
    (work / "contacts.csv").write_text(
        "phone,name\n" + "".join(f"+9197{i:08d},C{i}\n" for i in range(1, chaos.contacts + 1))
    )
    campaign = work / "chaos.yaml"
    campaign.write_text(
        CAMPAIGN.format(
            caller_ids=json.dumps(CALLER_IDS),
            agents=json.dumps(agents),
            agents_n=chaos.agents,
            attempts=MAX_ATTEMPTS,
            agent_failures=AGENT_FAILURES,
            give_up=chaos.give_up,
            port=port,
        )
    )
    path = work / "scenario.yaml"
    path.write_text(scenario(chaos, port))
    return path, campaign


async def drive(work: Path, chaos: Chaos) -> Report:
    """Run ``chaos`` to completion through kills and a Ctrl-C; check the promises."""
    rng = random.Random(chaos.seed)
    scenario_path, campaign = write_files(work, chaos)
    report = Report(chaos.contacts)
    started = time.monotonic()
    with scaled_sim(scenario_path, chaos.rate, work / "sim.log") as sim:
        env = child_env(
            {
                **sim.env(),
                "CAMPAIGNER_HEARTBEAT_TOKEN": SECRET,
                "CAMPAIGNER_HEARTBEAT_INTERVAL": "1",
            }
        )
        args = engine_args(campaign, chaos.rate, grace=60)

        async def one(**stop: Any) -> Ended:
            log = work / f"engine-{len(report.runs) + 1}.log"
            ended = await run_engine(args, env, log, limit=chaos.run_timeout, **stop)
            report.runs.append(_describe(ended))
            assert ended.returncode in (0, 6, 130, -signal.SIGKILL), ended.log[-3000:]
            return ended

        for _ in range(3 * chaos.kills):  # a run may end by itself first (paused, done)
            if report.kills == chaos.kills:
                break
            ended = await one(stop_after=rng.uniform(*chaos.kill_after), live="listening for")
            report.kills += ended.killed
            if ended.returncode == 0:
                break  # the campaign finished before the kill came
        ended = await one(
            stop_after=rng.uniform(*chaos.kill_after), sig=signal.SIGINT, live="listening for"
        )
        report.interrupts += ended.killed
        if ended.killed:
            assert ended.returncode == 130, ended.log[-3000:]
            assert "stopping: no new calls" in ended.log
        while (await one()).returncode != 0:
            pass  # paused by the circuit breaker: resume, as an operator would
        report.sim = sim.stats()
        report.seconds = round(time.monotonic() - started, 1)
        check(report, campaign, sim)
    return report


def check(report: Report, campaign: Path, sim: ScaledSim) -> None:
    """The promises, on the export against the simulator's record."""
    records = export(campaign, sim.env())
    calls = sim.calls()
    report.calls = len(calls)
    for record in records:
        outcome = str(record["outcome"])
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    assert sum("contacts.csv:" in r["source"] for r in records) == report.contacts
    check_export_invariants(records, calls, max_calls=MAX_CALLS)
    # Call by call: the true outcome (``unknown`` is honest after give_up_after), the
    # true talk time and no recording, since the campaign asks for none.
    verdict = check_export_truth(records, sim.truths(), allow_unknown=True, recording=False)
    assert verdict.checked == len(calls)
    report.untrue = {f"{t} -> {r}": n for (t, r), n in sorted(verdict.outcomes.items()) if t != r}
    check_dnd_skips(records, sim)


def check_dnd_skips(records: list[dict[str, Any]], sim: ScaledSim) -> None:
    """Every contact skipped as DND really is on the registry (v1 number metadata)."""
    skipped = [r["phone"] for r in records if r["outcome"] == "skipped" and r["reason"] == "dnd"]
    with httpx.Client(base_url=sim.url, auth=(KEY, TOKEN), timeout=60) as http:
        for phone in skipped:
            assert _dnd(http, phone, sim.rate) == "Yes", f"{phone} skipped as DND, but is not"


def _dnd(http: httpx.Client, phone: str, rate: float) -> str:
    # The scenario's faults (429 bursts, 5xx) apply to these requests too: ask again.
    while (answer := http.get(f"/v1/Accounts/{SID}/Numbers/{phone}.json")).status_code != 200:
        time.sleep(60 / rate)  # a simulated minute
    return str(answer.json()["Numbers"]["DND"])


def _describe(ended: Ended) -> str:
    how = "killed" if ended.killed else "ended"
    why = EXITS.get(ended.returncode, "signal")
    return f"{how}: exit {ended.returncode} ({why}) after {ended.seconds:.1f}s"
