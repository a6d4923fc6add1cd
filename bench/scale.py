"""Scale benchmark: a day at the account's ceiling (200 requests/minute, ~288,000 calls).

What it measures is the ENGINE alone: CPU seconds per 1,000 calls, its peak RSS (target
< 200 MB), the journal's size, and how each grows from 10k to 100k to 288k calls.

How, and why this way: the in-process simulator keeps ~0.9 KB per call (260 MB at
288k), which would drown the engine's own memory, so the two run in separate processes
(``tests/chaos/sim_child.py`` and ``tests/chaos/engine_child.py``), over real loopback
sockets: the engine's connects go to the simulator's hypercorn server and the
simulator's callbacks to the engine's real hypercorn receiver. Both run under
``trio.testing.MockClock(rate=R)``, a clock R times faster than real, so a simulated day
takes 24/R hours; the engine's wall clock is set from the simulator's, so their times
and dates agree (``campaigner sim --time-scale`` would keep real dates). Every figure
below is in simulated time except CPU and wall seconds. If the engine could not keep up
with its clock, the dial rate would fall below the budget: it is reported.

The campaign: agent-first, 600 agents and 600 calls at once (the budget is the only
bottleneck), ``requests_per_minute: 200``, one attempt per contact, no DND lookups,
callbacks healthy; the simulator's outcome mix has no agent-side failures, so calls =
contacts. The simulator's window admits 5% more than the budget: real jitter between the
processes is multiplied by R (the pacing benchmark, in exact virtual time, is the one
that measures 429s).

Usage: python bench/scale.py [--calls 10000 100000 288000] [--rate 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.chaos.processes import child_env, engine_args, scaled_sim  # noqa: E402
from tests.engine.outofprocess import free_port  # noqa: E402

RPM = 200
AGENTS = 600
CAMPAIGN = """\
name: scale
api: v1
caller_ids: ["+912241499102", "+918047091234", "+911139585476"]
dial: {{mode: agent_first, agents: {agents}}}
contacts: {{file: contacts.csv}}
call: {{time_limit: 600}}  # a lost answer is then settled within 22 minutes (operations.md)
pacing: {{requests_per_minute: {rpm}, max_concurrent_calls: {agents_n}}}
retry: {{max_attempts: 1}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call}}
health: {{circuit_breaker: null}}
callbacks: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}/cb"}}
"""


def scenario(rate: float) -> str:
    doc = {
        "seed": 11,
        # 5% over the budget: on a clock 30 times faster, 10 ms of real jitter between
        # two processes is a whole request interval (0.3 s), and would look like a burst
        "rate_limit": {"requests": round(RPM * 1.05), "window": 60},
        "outcome_mix": {"completed": 0.6, "busy": 0.15, "no_answer": 0.2, "failed": 0.05},
        # trio seconds are simulated ones here: give the receiver 15 real seconds
        "callbacks": {"timeout": 15 * rate},
    }
    return json.dumps(doc)


def write(work: Path, calls: int, rate: float) -> Path:
    """The scenario, the contacts and the campaign for ``calls`` calls; the campaign."""
    port = free_port()
    agents = [f"+9199{i:08d}" for i in range(1, AGENTS + 1)]
    (work / "scenario.yaml").write_text(scenario(rate))
    with (work / "contacts.csv").open("w") as out:
        out.write("phone,name\n")
        out.writelines(f"+9197{i:08d},Customer {i}\n" for i in range(1, calls + 1))
    campaign = work / "scale.yaml"
    text = CAMPAIGN.format(agents=json.dumps(agents), agents_n=AGENTS, rpm=RPM, port=port)
    campaign.write_text(text)
    return campaign


def measure(calls: int, rate: float, keep: Path | None) -> dict[str, Any]:
    """Run one day-at-the-ceiling campaign of ``calls`` contacts; the engine's figures."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-scale-{calls}-", dir=keep))
    campaign = write(work, calls, rate)
    with scaled_sim(work / "scenario.yaml", rate, work / "sim.log") as sim:
        started = time.monotonic()
        with (work / "engine.log").open("wb") as log:
            engine = subprocess.run(
                engine_args(campaign, rate),
                env=child_env(sim.env()),
                stdout=subprocess.PIPE,
                stderr=log,
                check=False,
            )
        wall = time.monotonic() - started
        if engine.returncode != 0:
            raise RuntimeError(f"engine exited {engine.returncode}: see {work / 'engine.log'}")
        result = json.loads(engine.stdout.decode().strip().splitlines()[-1])
        stats = sim.stats()
        created = [c["created_at"] for c in sim.calls()]
        sim_rss = _peak_rss_mb(sim.process.pid)
    throttled = sum(c["count"] for c in stats["counters"] if c["status"] == 429)
    placed = stats["calls"]
    journal = sum(p.stat().st_size for p in (work / ".campaigner").glob("scale.sqlite3*"))
    if keep is None:
        shutil.rmtree(work)  # a 288k-call run leaves about 0.6 GB; kept when the engine fails
    days = result["sim_seconds"] / 86400
    return {
        "calls": placed,
        "requests": stats["requests"],
        "requests_per_call": round(stats["requests"] / placed, 4),
        "http_429": throttled,
        "dial_rate_over_budget": dial_rate(created),
        "simulated_hours": round(result["sim_seconds"] / 3600, 2),
        "wall_seconds": round(wall, 1),
        "engine_cpu_seconds": result["cpu_seconds"],
        "engine_cpu_per_1000_calls": round(result["cpu_seconds"] / placed * 1000, 2),
        "engine_peak_rss_mb": result["peak_rss_mb"],
        "journal_mb": round(journal / 1e6, 1),
        "journal_bytes_per_call": round(journal / placed),
        "sim_peak_rss_mb": sim_rss,
        "rate": rate,
        "simulated_days": round(days, 3),
        "outcomes": result["counts"],
    }


def dial_rate(created: list[float]) -> float:
    """Calls per minute over the budget while dialing: from the first call to the 99.5th
    percentile. The last few can come much later for a reason that is not pace: a call
    whose answer was lost is dialed again only once reconciliation proves it absent."""
    created = sorted(created)
    last = int(len(created) * 0.995) - 1
    return round(last / ((created[last] - created[0]) / 60) / RPM, 4)


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000, 100_000, 288_000])
    parser.add_argument("--rate", type=float, default=30.0, help="simulated s per real s")
    parser.add_argument("--keep", type=Path, help="keep each run's directory under this one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.chdir(REPO)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    print(
        "| calls | simulated h | wall s | engine CPU s | CPU s / 1,000 calls | engine peak RSS MB "
        "| journal MB | journal B / call | requests / call | dial rate / budget | 429s |"
    )
    print("|" + " ---: |" * 11, flush=True)
    rows = []
    for calls in args.calls:
        r = measure(calls, args.rate, args.keep)
        rows.append(r)
        print(
            f"| {r['calls']:,} | {r['simulated_hours']} | {r['wall_seconds']:,} "
            f"| {r['engine_cpu_seconds']:,} | {r['engine_cpu_per_1000_calls']} "
            f"| {r['engine_peak_rss_mb']} | {r['journal_mb']} | {r['journal_bytes_per_call']} "
            f"| {r['requests_per_call']} | {r['dial_rate_over_budget']} | {r['http_429']} |",
            flush=True,
        )
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
