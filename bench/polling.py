"""Polling benchmark: what following calls without (all) callbacks costs, and whether it is right.

Runs the real engine against the in-process simulator in virtual time (trio's MockClock),
agent-first, with the simulator's defaults: every call's v1 record stays unfinished
(``Status: completed``, epoch-zero ``EndTime``) for two minutes after it ends, and a v3
call stays ``active`` as long. Rows:

- v1 polling-only (no ``callbacks.public_url``), and with 30% of callbacks lost: the
  pacing benchmark's shape (600 agents, so the request budget is the bottleneck)
- v3 with no callback lost, and with 20% lost: 6 agents, so agents are the bottleneck and
  a lost callback must not hold an agent much longer than its call

For each: API requests per call (every request, the connect POST included, over the
calls placed, as bench/pacing.py counts them) and by endpoint, virtual minutes to finish
(the whole run, until every contact is final and every record read), and calls whose
recorded outcome or talk time disagrees with what the simulator says really happened
(tests/engine/truth.py, the test suite's oracle), and v1 calls whose ``Price`` the journal
holds at the end (the report's spend: docs/reports.md).

Usage: python bench/polling.py [--v1-contacts 1000] [--v3-contacts 300] [--json]
Each row runs in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = [  # api, row, callbacks lost, agents
    ("v1", "polling-only", 1.0, 600),
    ("v1", "30% lost", 0.3, 600),
    ("v3", "none lost", 0.0, 6),
    ("v3", "20% lost", 0.2, 6),
]

CAMPAIGN = """
name: polling
api: {api}
caller_ids: ["+912241499102", "+918047091234", "+911139585476"]
dial:
  mode: agent_first
  agents: {agents}
contacts:
  file: contacts.csv
pacing: {{requests_per_minute: 180, max_concurrent_calls: {agent_count}}}
retry: {{max_attempts: 1}}
schedule:
  windows: [{{start: "00:00", end: "24:00"}}]
screening: {{dnd: call}}
tracking: {{poll_after: {poll_after}, poll_interval: 1m, give_up_after: 6h}}
"""


def one(
    api: str, label: str, lost: float, contacts: int, agent_count: int, poll_after: str = "2m"
) -> dict[str, object]:
    """Run one row in this process and measure it."""
    import trio
    import trio.testing

    from campaigner.report.insights import spend
    from campaigner.report.source import Source
    from campaigner.simulator import Scenario
    from campaigner.simulator.inspect import truths
    from tests.engine.harness import run_against_sim
    from tests.engine.truth import from_journal, judge

    workdir = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    atexit.register(shutil.rmtree, workdir, True)
    os.chdir(workdir)
    agents = [f"+9199{i:08d}" for i in range(1, agent_count + 1)]
    (workdir / "contacts.csv").write_text(
        "phone\n" + "".join(f"+9197{i:08d}\n" for i in range(1, contacts + 1))
    )
    path = workdir / "campaign.yaml"
    path.write_text(
        CAMPAIGN.format(
            api=api, agents=json.dumps(agents), agent_count=agent_count, poll_after=poll_after
        )
    )
    polling_only = label == "polling-only"
    faults = {} if polling_only else {"callback_drop": lost}
    scenario = Scenario.model_validate({"seed": 42, "faults": faults})
    wall0 = time.monotonic()

    async def main() -> dict[str, object]:
        out = await run_against_sim(path, scenario, callbacks=not polling_only)
        minutes = trio.current_time() / 60.0
        calls = len(out.sim.calls())
        stats = out.sim.stats()
        by_kind: dict[str, int] = {}
        for (_, kind, _), count in stats.counters.items():
            by_kind[kind] = by_kind.get(kind, 0) + count
        verdict = judge(from_journal(out.journal()), truths(out.sim), mode="agent_first")
        with out.journal() as journal:
            priced = spend(Source.of(journal, mask=True))
        return {
            "api": api,
            "row": label,
            "callbacks_lost": lost,
            "contacts": contacts,
            "agents": agent_count,
            "calls": calls,
            "requests": stats.requests,
            "requests_per_call": round(stats.requests / calls, 3),
            "per_call_by_endpoint": {k: round(v / calls, 3) for k, v in sorted(by_kind.items())},
            "minutes": round(minutes, 1),
            "last_call_minutes": round(max(c.created_at for c in out.sim.calls()) / 60.0, 1),
            "wrong": len(verdict.wrong),
            "wrong_examples": verdict.wrong[:3],
            "reason": out.result.reason,
            "calls_priced": priced.calls_priced,
            "calls_unpriced": priced.calls_unpriced,
        }

    result = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    result["wall_seconds"] = round(time.monotonic() - wall0, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--v1-contacts", type=int, default=1000)
    parser.add_argument("--v3-contacts", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)  # api row lost contacts agents
    args = parser.parse_args()
    if args.one:
        api, label, lost, contacts, agents = args.one
        print(json.dumps(one(api, label, float(lost), int(contacts), int(agents))))
        return
    repo = Path(__file__).resolve().parents[1]
    rows = []
    for api, label, lost, agents in ROWS:
        contacts = args.v1_contacts if api == "v1" else args.v3_contacts
        out = subprocess.run(
            [sys.executable, __file__, "--one", api, label, str(lost), str(contacts), str(agents)],
            capture_output=True,
            text=True,
            check=True,
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo)},
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        "| api | callbacks | agents | calls | requests per call | by endpoint (per call) "
        "| minutes to finish | wrong outcomes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        endpoints = ", ".join(f"{k} {v}" for k, v in r["per_call_by_endpoint"].items())
        print(
            f"| {r['api']} | {r['row']} | {r['agents']} | {r['calls']} "
            f"| {r['requests_per_call']:.3f} | {endpoints} | {r['minutes']} | {r['wrong']} |"
        )
    for r in rows:
        if r["api"] == "v1":
            print(f"v1 {r['row']}: calls priced {r['calls_priced']} of {r['calls']}")
    v3 = {r["row"]: r for r in rows if r["api"] == "v3"}
    ratio = v3["20% lost"]["minutes"] / v3["none lost"]["minutes"]
    print(f"\nv3 time to finish, 20% callbacks lost / none lost: {ratio:.3f}")
    if args.json:
        print(json.dumps({"rows": rows, "v3_lost_time_ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
