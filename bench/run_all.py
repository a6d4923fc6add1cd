"""Run every benchmark and print one summary table (``make bench``).

Each benchmark is its own script (run it alone for details and options); this runs
them in turn, shows what each prints, and ends with ONE table: metric, value, target,
the baseline's figure where there is one, and whether the target is met. Copy the
figures into docs/benchmarks.md with the machine and the date.

    python bench/run_all.py            # full sizes: about 1.5 hours on 2 cores
    python bench/run_all.py --quick    # small sizes, a few minutes: checks the scripts run

The exit status is 1 when a script fails or a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Figures = Any  # what a script printed as its last line of JSON


@dataclass(frozen=True)
class Bench:
    key: str
    title: str
    args: list[str]
    quick: list[str]


BENCHES = [
    Bench("baseline", "baseline: the FAQ loop vs campaigner, 2,000 contacts", ["baseline.py"],
          ["--contacts", "300"]),
    Bench("pacing", "pacing: rate-bound campaign, 2,000 contacts (issue 4)", ["pacing.py"],
          ["--contacts", "300"]),
    Bench("polling", "polling: callbacks lost or absent, v1 and v3 (issue 11)", ["polling.py"],
          ["--v1-contacts", "200", "--v3-contacts", "60"]),
    Bench("reconcile", "reconciliation: 25% of connect answers lost, 30 and 300 contacts",
          ["reconcile.py"], []),
    Bench("scale", "scale: a day at the ceiling, 10k/100k/288k calls", ["scale.py"],
          ["--calls", "1000", "3000"]),
    Bench("front_door", "front door: validate and plan, 100k and 1M contacts",
          ["validate_contacts.py"], ["--rows", "5000", "50000"]),
    Bench("reports", "reports: 100,000 contacts rendered", ["report_render.py"],
          ["--contacts", "5000"]),
    Bench("durability", "journal durability: synchronous NORMAL vs FULL, 2k and 288k contacts",
          ["journal_durability.py"], ["--contacts", "2000", "20000", "--calls", "100"]),
    Bench("concurrent", "concurrent campaigns: 2 and 5 on one account's budget (issue 15)",
          ["concurrent_campaigns.py"], ["--contacts", "200"]),
]  # fmt: skip


def run(bench: Bench, quick: bool) -> Figures | None:
    """Run one script, echoing its output; return the JSON it printed last (None on failure)."""
    args = [*bench.args, *(bench.quick if quick else []), "--json"]
    print(f"\n## {bench.title}\n$ python bench/{' '.join(args)}", flush=True)
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, str(HERE / args[0]), *args[1:]],
        cwd=HERE.parent,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = child.stdout.rstrip().splitlines()
    print("\n".join(lines[:-1] if child.returncode == 0 else lines))
    print(f"({time.monotonic() - started:.0f} s, exit {child.returncode})", flush=True)
    if child.returncode != 0 or not lines:
        return None
    return json.loads(lines[-1])


Row = tuple[str, str, str, str, bool]  # metric, value, target, baseline, met


def summary(results: dict[str, Figures]) -> list[Row]:
    rows: list[Row] = []
    for key, rows_of in SUMMARIES.items():
        if results.get(key) is not None:
            rows += rows_of(results[key], results.get("baseline"))
    return rows


def _baseline(f: Figures, _: Figures) -> list[Row]:
    base, ours, ratio = f["baseline"], f["campaigner"], f["ratio"]

    def vs(key: str, ratio_key: str) -> str:
        return f"{ours[key]} ({ratio[ratio_key]:.2f}x)"

    return [
        ("calls per minute (whole run)", vs("calls_per_minute", "calls_per_minute"),
         "> baseline", f"{base['calls_per_minute']}", ratio["calls_per_minute"] > 1),
        ("API requests per call", vs("requests_per_call", "requests_per_call"),
         "< baseline", f"{base['requests_per_call']}", ratio["requests_per_call"] < 1),
        ("minutes to finish", f"{ours['minutes']:.1f} ({ratio['time_to_finish']:.2f}x)",
         "< baseline", f"{base['minutes']:.1f}", ratio["time_to_finish"] < 1),
        ("calls recorded with a wrong status", str(ours["wrong_status"]), "0",
         str(base["wrong_status"]), ours["wrong_status"] == 0),
        ("connected calls without talk time", str(ours["talk_time_lost"]), "0",
         str(base["talk_time_lost"]), ours["talk_time_lost"] == 0),
    ]  # fmt: skip


def _pacing(rows: Figures, base: Figures | None) -> list[Row]:
    by = {(r["api"], r["callbacks_lost"]): r for r in rows}
    healthy = min(by[(api, 0.0)]["backlog_dial_rate_over_budget"] for api in ("v1", "v3"))
    throttled = sum(r["http_429"] for r in rows)
    b = base["baseline"] if base else None
    return [
        ("pacing: dial rate / budget (v1, v3)", f"{healthy:.3f}", ">= 0.97",
         f"{b['calls_per_minute'] / 200:.3f}" if b else "-", healthy >= 0.97),
        ("pacing: 429s", str(throttled), "0", str(b["http_429"]) if b else "-", throttled == 0),
        ("pacing: requests per call, v1, 30% callbacks lost",
         f"{by[('v1', 0.3)]['requests_per_call']:.3f}", "<= 1.05",
         str(b["requests_per_call"]) if b else "-", by[("v1", 0.3)]["requests_per_call"] <= 1.05),
        ("pacing: requests per call, v3, 30% callbacks lost",
         f"{by[('v3', 0.3)]['requests_per_call']:.3f}", "<= 1.35", "-",
         by[("v3", 0.3)]["requests_per_call"] <= 1.35),
    ]  # fmt: skip


def _polling(f: Figures, _: Figures) -> list[Row]:
    by = {(r["api"], r["row"]): r for r in f["rows"]}
    only, lost = by[("v1", "polling-only")], by[("v1", "30% lost")]
    wrong = sum(r["wrong"] for r in f["rows"])
    return [
        ("polling: requests per call, v1 polling-only", f"{only['requests_per_call']:.3f}",
         "<= 1.3", "-", only["requests_per_call"] <= 1.3),
        ("polling: requests per call, v1, 30% callbacks lost", f"{lost['requests_per_call']:.3f}",
         "<= 1.1", "-", lost["requests_per_call"] <= 1.1),
        ("polling: v3 time to finish, 20% callbacks lost / none lost",
         f"{f['v3_lost_time_ratio']:.3f}", "<= 1.2", "-", f["v3_lost_time_ratio"] <= 1.2),
        ("polling: calls recorded unlike what really happened", str(wrong), "0", "-", wrong == 0),
    ]  # fmt: skip


def _reconcile(rows: Figures, _: Figures) -> list[Row]:
    worst = max(r["requests_per_lost_answer"] for r in rows)
    overlaps = sum(r["contacts_with_overlapping_calls"] for r in rows)
    return [
        ("reconcile: listing requests per lost connect answer (worst row)", f"{worst:.2f}",
         "<= 3", "about 7", worst <= 3),
        ("reconcile: contacts with two calls at once", str(overlaps), "0", "-", overlaps == 0),
    ]  # fmt: skip


def _scale(rows: Figures, _: Figures) -> list[Row]:
    small, big = rows[0], rows[-1]
    label = f"{small['calls']:,} -> {big['calls']:,} calls"
    cpu = big["engine_cpu_per_1000_calls"] / small["engine_cpu_per_1000_calls"]
    journal = big["journal_bytes_per_call"] / small["journal_bytes_per_call"]
    return [
        (f"scale: engine CPU s per 1,000 calls, {label}",
         f"{small['engine_cpu_per_1000_calls']} -> {big['engine_cpu_per_1000_calls']}",
         "linear or better (<= 1.25x)", "-", cpu <= 1.25),
        (f"scale: engine peak RSS MB at {big['calls']:,} calls", str(big["engine_peak_rss_mb"]),
         "< 200", "-", big["engine_peak_rss_mb"] < 200),
        (f"scale: journal bytes per call, {label}",
         f"{small['journal_bytes_per_call']} -> {big['journal_bytes_per_call']}",
         "linear or better (<= 1.25x)", "-", journal <= 1.25),
        ("scale: 429s", str(sum(r["http_429"] for r in rows)), "0", "-",
         all(r["http_429"] == 0 for r in rows)),
    ]  # fmt: skip


def _front_door(rows: Figures, _: Figures) -> list[Row]:
    out: list[Row] = []
    for command in ("validate", "plan"):
        mine = [r for r in rows if r["command"] == command]
        big = mine[-1]
        growth = big["peak_rss_mib"] / mine[0]["peak_rss_mib"]
        out += [
            (f"front door: {command} {big['rows']:,} contacts, seconds", str(big["seconds"]),
             "< 60", "-", big["seconds"] < 60),
            (f"front door: {command} {big['rows']:,} contacts, peak RSS MiB",
             str(big["peak_rss_mib"]), f"flat (<= 1.25x the {mine[0]['rows']:,}-row figure)",
             "-", growth <= 1.25),
        ]  # fmt: skip
    return out


def _reports(f: Figures, _: Figures) -> list[Row]:
    return [
        (f"reports: render {f['contacts']:,} contacts (HTML), seconds", str(f["html_s"]), "< 10",
         "-", f["html_s"] < 10),
    ]  # fmt: skip


def _durability(rows: Figures, _: Figures) -> list[Row]:
    full = [r for r in rows if r["mode"] == "FULL"]
    normal = {r["contacts"]: r for r in rows if r["mode"] == "NORMAL"}
    big = full[-1]
    return [
        (f"durability: ms of journal writes per call, FULL, {big['contacts']:,} contacts",
         str(big["ms_per_call"]), "-", f"{normal[big['contacts']]['ms_per_call']} (NORMAL)",
         True),
        (f"durability: trio thread busy at 200 calls/min, FULL, {big['contacts']:,} contacts",
         f"{big['busy_ms_per_s_at_200_per_min']} ms/s", "< 100 ms/s", "-",
         all(r["busy_ms_per_s_at_200_per_min"] < 100 for r in full)),
    ]  # fmt: skip


def _concurrent(rows: Figures, _: Figures) -> list[Row]:
    out: list[Row] = []
    for r in rows:
        n = r["campaigns"]
        out += [
            (f"concurrent: {n} campaigns, combined dial rate / account budget",
             f"{r['combined_dial_rate_over_budget']:.3f}", ">= 0.97", "-",
             r["combined_dial_rate_over_budget"] >= 0.97),
            (f"concurrent: {n} campaigns, 429s", str(r["http_429"]), "0", "-",
             r["http_429"] == 0),
        ]  # fmt: skip
    return out


SUMMARIES: dict[str, Callable[[Figures, Figures | None], list[Row]]] = {
    "baseline": _baseline,
    "pacing": _pacing,
    "polling": _polling,
    "reconcile": _reconcile,
    "scale": _scale,
    "front_door": _front_door,
    "reports": _reports,
    "durability": _durability,
    "concurrent": _concurrent,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=[b.key for b in BENCHES])
    args = parser.parse_args()
    print(f"# campaigner benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    results = {b.key: run(b, args.quick) for b in BENCHES if not args.only or b.key in args.only}
    rows = summary(results)
    print("\n## summary\n\n| metric | value | target | baseline | met? |")
    print("| --- | --- | --- | --- | --- |")
    for metric, value, target, base, met in rows:
        print(f"| {metric} | {value} | {target} | {base} | {'yes' if met else 'NO'} |")
    failed = [k for k, v in results.items() if v is None]
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed or not all(row[4] for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
