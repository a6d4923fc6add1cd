"""Pacing benchmark: a rate-bound campaign against the simulator, in virtual time.

Runs the real engine (limiter, dialer, receiver, tracker, journal) against the
in-process simulator under trio's MockClock, with enough agents and concurrency
that the API budget is the only bottleneck, and reports:

- dial rate / budget: calls placed per minute while dialing, over requests_per_minute
- API requests per call: every request the run made, over the calls it placed
- 429s received
- CPU seconds and peak RSS of the process

Usage: python bench/pacing.py [--contacts 2000] [--rpm 180] [--json]
Each scenario runs in a fresh subprocess so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = [
    ("v1", 0.0),
    ("v1", 0.3),
    ("v3", 0.0),
    ("v3", 0.3),
]

CAMPAIGN = """
name: pacing
api: {api}
caller_ids: ["+912241499102", "+918047091234", "+911139585476"]
dial:
  mode: agent_first
  agents: {agents}
contacts:
  file: contacts.csv
pacing: {{requests_per_minute: {rpm}, max_concurrent_calls: {concurrency}}}
retry: {{max_attempts: 1}}
schedule:
  windows: [{{start: "00:00", end: "24:00"}}]
screening: {{dnd: call}}  # dials and polls only: DND lookups are measured in health.md
"""


def one(api: str, lost: float, contacts: int, rpm: int) -> dict[str, object]:
    """Run one scenario in this process and measure it."""
    import trio
    import trio.testing

    from campaigner.simulator import Scenario
    from tests.engine.harness import run_against_sim

    workdir = Path(tempfile.mkdtemp(prefix="bench-pacing-"))
    atexit.register(shutil.rmtree, workdir, True)  # the journal and CSVs go too
    os.chdir(workdir)
    agents = [f"+9199{i:08d}" for i in range(1, 601)]
    (workdir / "contacts.csv").write_text(
        "phone\n" + "".join(f"+9197{i:08d}\n" for i in range(1, contacts + 1))
    )
    path = workdir / "campaign.yaml"
    path.write_text(
        CAMPAIGN.format(api=api, agents=json.dumps(agents), rpm=rpm, concurrency=len(agents))
    )
    scenario = Scenario.model_validate({"seed": 42, "faults": {"callback_drop": lost}})
    cpu0 = time.process_time()
    wall0 = time.monotonic()

    async def main() -> dict[str, object]:
        out = await run_against_sim(path, scenario, record_wait=0.0)
        calls = out.sim.calls()
        created = sorted(c.created_at for c in calls)
        minutes = (created[-1] - created[0]) / 60.0 if len(created) > 1 else 1.0
        # While contacts were waiting (until the last first attempt left), dialing is
        # limited by the budget alone; after it only re-queued contacts remain.
        first_attempts = sorted(
            min(c.created_at for c in calls if c.to_number == n)
            for n in {c.to_number for c in calls}
        )
        backlog = [t for t in created if t <= first_attempts[-1]]
        backlog_minutes = (backlog[-1] - backlog[0]) / 60.0
        requests = out.sim.stats().requests
        throttled = sum(
            n for (_, _, status), n in out.sim.stats().counters.items() if status == 429
        )
        return {
            "api": api,
            "callbacks_lost": lost,
            "contacts": contacts,
            "rpm": rpm,
            "calls": len(calls),
            "dial_rate_per_min": round((len(created) - 1) / minutes, 2),
            "dial_rate_over_budget": round((len(created) - 1) / minutes / rpm, 4),
            "backlog_dial_rate_over_budget": round((len(backlog) - 1) / backlog_minutes / rpm, 4),
            "requests": requests,
            "requests_per_call": round(requests / len(calls), 4),
            "http_429": throttled,
            "virtual_minutes": round(trio.current_time() / 60.0, 1),
        }

    result = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    result["cpu_seconds"] = round(time.process_time() - cpu0, 2)
    result["wall_seconds"] = round(time.monotonic() - wall0, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--rpm", type=int, default=180)
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    parser.add_argument("--one", nargs=2, metavar=("API", "LOST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], float(args.one[1]), args.contacts, args.rpm)))
        return
    repo = Path(__file__).resolve().parents[1]
    rows = []
    for api, lost in SCENARIOS:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                api,
                str(lost),
                "--contacts",
                str(args.contacts),
                "--rpm",
                str(args.rpm),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo)},
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        "| api | callbacks lost | calls | dial rate / budget (while contacts waited) "
        "| dial rate / budget (whole run) | requests per call | 429s | CPU s | peak RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['api']} | {r['callbacks_lost']:.0%} | {r['calls']} "
            f"| {r['backlog_dial_rate_over_budget']:.3f} | {r['dial_rate_over_budget']:.3f} "
            f"| {r['requests_per_call']:.3f} | {r['http_429']} | {r['cpu_seconds']} "
            f"| {r['peak_rss_mb']} |"
        )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
