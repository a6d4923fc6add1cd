"""Concurrent campaigns on one account: do they share its budget without a 429?

Two and five campaigns, each set to 180 requests/minute (the default: each alone would
take 90% of the account), run at once against one simulated Exotel account limited to
200/minute, in one process the way ``campaigner serve`` runs them: the engine's
``run_campaign`` per campaign, one shared account budget, one callback receiver routing
by token (campaigner.serve). Virtual time (MockClock). Reports:

- combined dial rate / account budget while every campaign still had contacts waiting
- 429s the account received
- each campaign's share of the calls (fairness: max/min)
- CPU seconds and peak RSS of the process

Usage: python bench/concurrent_campaigns.py [--contacts 600] [--campaigns 2 5] [--json]
Each row runs in a fresh subprocess so peak RSS is its own. (Not ``concurrent.py``: a
script's folder comes first on ``sys.path``, and that name would shadow the standard
library's ``concurrent`` package, which asyncio imports, for every script in bench/.)
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

CAMPAIGN = """
name: shared-{index}
api: v1
caller_ids: ["+912241499102", "+918047091234", "+911139585476"]
dial:
  mode: agent_first
  agents: {agents}
contacts:
  file: contacts-{index}.csv
pacing: {{requests_per_minute: 180, max_concurrent_calls: {concurrency}}}
retry: {{max_attempts: 1}}
schedule:
  windows: [{{start: "00:00", end: "24:00"}}]
screening: {{dnd: call, dedupe: false}}
"""


def one(campaigns: int, contacts: int) -> dict[str, object]:
    """Run ``campaigns`` campaigns at once in this process and measure them."""
    import trio
    import trio.testing

    from campaigner.simulator import Scenario, Simulator
    from tests.serve.harness import serve_sim

    workdir = Path(tempfile.mkdtemp(prefix="bench-concurrent-"))
    atexit.register(shutil.rmtree, workdir, True)
    os.chdir(workdir)
    os.environ["CAMPAIGNER_LOCK_DIR"] = str(workdir / "locks")
    per = 600 // campaigns
    for index in range(campaigns):
        agents = [f"+9199{index:02d}{i:06d}" for i in range(1, per + 1)]
        (workdir / f"contacts-{index}.csv").write_text(
            "phone\n" + "".join(f"+9197{index:02d}{i:06d}\n" for i in range(1, contacts + 1))
        )
        path = workdir / f"campaign-{index}.yaml"
        path.write_text(CAMPAIGN.format(index=index, agents=json.dumps(agents), concurrency=per))
    scenario = Scenario.model_validate({"seed": 42})
    cpu0 = time.process_time()
    wall0 = time.monotonic()

    async def main() -> dict[str, object]:
        async with serve_sim(workdir, scenario) as served:
            await served.until(lambda: set(served.states().values()) == {"done"})
            return measure(served.sim)

    def measure(sim: Simulator) -> dict[str, object]:
        calls = sim.calls()
        by_campaign: dict[int, list[float]] = {}
        first: dict[int, dict[str, float]] = {}  # campaign -> number -> its first attempt
        for call in calls:
            index = int(call.to_number[5:7])
            by_campaign.setdefault(index, []).append(call.created_at)
            seen = first.setdefault(index, {})
            seen[call.to_number] = min(seen.get(call.to_number, call.created_at), call.created_at)
        # every campaign still had contacts waiting (never called yet) until the first
        # one's last first attempt; after it, only re-queued contacts remain
        backlog_end = min(max(numbers.values()) for numbers in first.values())
        # ... and from when the last one started dialing: campaigns starting together
        # check their ExoPhones one after the other (v2 details have a small budget of
        # their own, shared by the account), so the last starts up to a few minutes late
        backlog_start = max(min(times) for times in by_campaign.values())
        created = sorted(c.created_at for c in calls)
        backlog = [t for t in created if backlog_start <= t <= backlog_end]
        minutes = (backlog[-1] - backlog[0]) / 60.0
        throttled = sum(n for (_, _, status), n in sim.stats().counters.items() if status == 429)
        shares = [len(by_campaign[i]) for i in sorted(by_campaign)]
        in_backlog = [
            sum(1 for t in by_campaign[i] if backlog_start <= t <= backlog_end)
            for i in sorted(by_campaign)
        ]
        return {
            "campaigns": campaigns,
            "contacts_each": contacts,
            "calls": len(calls),
            "calls_each": shares,
            "fairness_max_over_min": round(max(in_backlog) / min(in_backlog), 3),
            "combined_dial_rate_per_min": round((len(backlog) - 1) / minutes, 2),
            "combined_dial_rate_over_budget": round((len(backlog) - 1) / minutes / 200, 4),
            "last_start_minutes": round((backlog_start - min(created)) / 60.0, 2),
            "requests": sim.stats().requests,
            "http_429": throttled,
            "virtual_minutes": round(trio.current_time() / 60.0, 1),
        }

    result = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    result["cpu_seconds"] = round(time.process_time() - cpu0, 2)
    result["wall_seconds"] = round(time.monotonic() - wall0, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


RUN_CAMPAIGN = """
name: apart-{index}
api: v1
caller_ids: ["+912241499102", "+918047091234", "+911139585476"]
dial:
  mode: agent_first
  agents: {agents}
contacts: {{inline: {contacts}}}
call: {{time_limit: 60, ring_timeout: 20}}
pacing: {{requests_per_minute: 180, max_concurrent_calls: 200}}
retry: {{max_attempts: 1}}
schedule: {{windows: [{{start: "00:00", end: "24:00"}}]}}
screening: {{dnd: call, dedupe: false}}
callbacks: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}/cb"}}
"""


def apart(campaigns: int, contacts: int) -> dict[str, object]:
    """``campaigns`` separate ``campaigner run`` processes on one account, real time.

    Against ``campaigner sim`` in another process (its clock 40 times faster, so calls
    are short; its rate limit counts real seconds). The runs share the account through
    the budget file in the lock directory; the rate is in real time.
    """
    from tests.engine.outofprocess import KEY, TOKEN, campaigner, external_sim, free_port

    workdir = Path(tempfile.mkdtemp(prefix="bench-apart-"))
    atexit.register(shutil.rmtree, workdir, True)
    (workdir / "scenario.yaml").write_text("seed: 3\n")
    files = []
    for index in range(campaigns):
        numbers = [f"+9196{index:02d}{i:06d}" for i in range(1, contacts + 1)]
        agents = [f"+9199{index:02d}{i:06d}" for i in range(1, 201)]
        path = workdir / f"apart-{index}.yaml"
        path.write_text(
            RUN_CAMPAIGN.format(
                index=index, contacts=json.dumps(numbers), agents=json.dumps(agents),
                port=free_port(),
            )
        )  # fmt: skip
        files.append(path)
    scale = 40.0
    with external_sim(workdir / "scenario.yaml", time_scale=scale) as sim:
        env = {**os.environ, **sim.env(), "CAMPAIGNER_LOCK_DIR": str(workdir / "locks")}
        started = time.monotonic()
        runs = [
            subprocess.Popen(
                campaigner(["run", str(path), "--yes", "-q", "--no-report"]),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(workdir / f"{path.stem}.log").open("wb"),
            )
            for path in files
        ]
        codes = [run.wait(timeout=900) for run in runs]
        wall = time.monotonic() - started
        calls = sim.calls()
        import httpx

        stats = httpx.get(f"{sim.url}/_sim/stats", auth=(KEY, TOKEN), timeout=30).json()
    by_campaign: dict[int, list[float]] = {}
    for call in calls:
        by_campaign.setdefault(int(call["to_number"][5:7]), []).append(call["created_at"])
    start = max(min(t) for t in by_campaign.values())
    end = min(max(t) for t in by_campaign.values())
    window = sorted(t for times in by_campaign.values() for t in times if start <= t <= end)
    real_minutes = (window[-1] - window[0]) / 60.0  # the simulator's trio clock is real
    throttled = sum(c["count"] for c in stats["counters"] if c["status"] == 429)
    kinds = {f"{c['method']} {c['kind']} {c['status']}": c["count"] for c in stats["counters"]}
    return {
        "requests_by_kind": kinds,
        "processes": campaigns,
        "contacts_each": contacts,
        "exit_codes": codes,
        "calls": len(calls),
        "combined_dial_rate_per_min": round((len(window) - 1) / real_minutes, 2),
        "combined_dial_rate_over_budget": round((len(window) - 1) / real_minutes / 200, 4),
        "requests": stats["requests"],
        "requests_per_call": round(stats["requests"] / max(len(calls), 1), 3),
        "http_429": throttled,
        "wall_seconds": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=600, help="contacts per campaign")
    parser.add_argument("--campaigns", type=int, nargs="+", default=[2, 5])
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    parser.add_argument(
        "--apart",
        type=int,
        metavar="N",
        help="instead: N `campaigner run` processes on one account, real time "
        "(--contacts each; about 90 s for 2 x 150)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.contacts)))
        return
    if args.apart:
        row = apart(args.apart, args.contacts)
        print(
            f"{row['processes']} run processes, {row['calls']} calls: combined dial rate / "
            f"200 {row['combined_dial_rate_over_budget']:.3f}, 429s {row['http_429']}, "
            f"exit codes {row['exit_codes']}, {row['wall_seconds']} s"
        )
        if args.json:
            print(json.dumps(row))
        return
    repo = Path(__file__).resolve().parents[1]
    rows = []
    for campaigns in args.campaigns:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(campaigns), "--contacts", str(args.contacts)],
            capture_output=True,
            text=True,
            check=True,
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo)},
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        "| campaigns (180/min each) | calls | combined dial rate / 200 (while all had contacts) "
        "| fairness (max/min calls) | 429s | CPU s | peak RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['campaigns']} | {r['calls']} | {r['combined_dial_rate_over_budget']:.3f} "
            f"| {r['fairness_max_over_min']:.3f} | {r['http_429']} | {r['cpu_seconds']} "
            f"| {r['peak_rss_mb']} |"
        )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
