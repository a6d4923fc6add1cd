"""How long `campaigner validate` and `campaigner plan` take on large contact files, and
how much memory they need.

Generates CSVs of realistic Indian numbers (mobiles and STD landlines in the formats
people type, a few variables, about 0.5% invalid and 1% duplicate rows) in a temporary
directory, runs each command in a subprocess (so the measurement covers the real command:
import, YAML, normalisation, on-disk dedupe, rendering every contact's template; plan
also reads the shared state and the opt-out lists and estimates the pace), and prints one
markdown table row per command and size. Peak RSS comes from os.wait4 for that child
alone. The claim to check: time grows linearly and memory does not grow with the rows.

    .venv/bin/python bench/validate_contacts.py              # 100k and 1M rows
    .venv/bin/python bench/validate_contacts.py --rows 20000 --json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CAMPAIGN = """\
name: bench
api: v1
caller_ids: ["+912241499102"]
dial: {{mode: agent_first, agents: ["+919900000001", "+919900000002"]}}
contacts: {{file: {csv}, on_invalid: skip}}
call:
  custom_field: "{{{{ order_id }}}}/{{{{ attempt }}}}"
schedule: {{deadline: 2099-12-31T20:00:00+05:30}}
callbacks: {{public_url: "https://hooks.example.com/exotel"}}
"""
CITIES = ["Mumbai", "Delhi", "Bengaluru", "Chennai", "Pune", "Kolkata", "Jaipur", "Lucknow"]
STD = ["80", "22", "11", "44", "40", "33", "20", "141", "522"]


def mobile(rng: random.Random) -> str:
    nsn = f"{rng.choice('6789')}{rng.randrange(10**9):09d}"
    style = rng.randrange(6)
    if style == 0:
        return nsn
    if style == 1:
        return "0" + nsn
    if style == 2:
        return f"+91 {nsn[:5]} {nsn[5:]}"
    if style == 3:
        return f"+91-{nsn[:5]}-{nsn[5:]}"
    if style == 4:
        return "+91" + nsn
    return f"0091 {nsn}"


def landline(rng: random.Random) -> str:
    code = rng.choice(STD)
    local = f"{rng.choice('2456')}{rng.randrange(10 ** (9 - len(code))):0{9 - len(code)}d}"
    return f"0{code} {local}"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """``rows`` data rows: 0.5% invalid, 1% repeats of an earlier number, 8% landlines."""
    rng = random.Random(seed)
    recent: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["phone", "name", "order_id", "amount", "city"])
        for i in range(rows):
            roll = rng.random()
            if roll < 0.005:
                phone = str(rng.randrange(10**4))  # too short
            elif roll < 0.015 and recent:
                phone = rng.choice(recent)
            elif roll < 0.095:
                phone = landline(rng)
            else:
                phone = mobile(rng)
            if len(recent) < 1000:
                recent.append(phone)
            else:
                recent[rng.randrange(1000)] = phone
            out.writerow(
                [
                    phone,
                    f"Customer {i}",
                    f"OD-{i:07d}",
                    f"{rng.randrange(100, 99999)}.00",
                    rng.choice(CITIES),
                ]
            )


def measure(
    directory: Path, rows: int, command: str = "validate"
) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MiB, the summary line) for ``rows`` rows."""
    csv_path = directory / f"contacts-{rows}.csv"
    if not csv_path.exists():
        generate(csv_path, rows)
    campaign = directory / f"bench-{rows}.yaml"
    campaign.write_text(CAMPAIGN.format(csv=csv_path.name), encoding="utf-8")
    output_path = directory / f"{command}-{rows}.txt"
    start = time.perf_counter()
    with output_path.open("w", encoding="utf-8") as output_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "campaigner", command, str(campaign)],
            stdout=output_file,
            stderr=subprocess.STDOUT,
        )
        # wait4, not wait(): it gives this child's own peak RSS.
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    output = output_path.read_text(encoding="utf-8").replace(f"{directory}{os.sep}", "")
    if child.returncode not in (0, 1):  # 1: validate found the invalid rows it was given
        raise RuntimeError(f"campaigner {command} exited {child.returncode}: {output[-2000:]}")
    lines = output.strip().splitlines()
    # validate: "bench-N.yaml: ok, ..."; plan: its "contacts" line
    summary = next((line for line in lines if line.startswith(("bench-", "contacts "))), "")
    return seconds, cpu, peak_kib / 1024, summary or (lines[-1] if lines else "(no output)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--commands", nargs="+", default=["validate", "plan"])
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    print("| command | rows | seconds | CPU seconds | rows/s | peak RSS (MiB) | it says |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    figures = []
    with tempfile.TemporaryDirectory(prefix="campaigner-bench-") as tmp:
        for rows in args.rows:
            for command in args.commands:
                seconds, cpu, peak, summary = measure(Path(tmp), rows, command)
                rate = rows / seconds
                print(
                    f"| {command} | {rows:,} | {seconds:.1f} | {cpu:.1f} | {rate:,.0f} "
                    f"| {peak:.0f} | {summary} |",
                    flush=True,
                )
                figures.append(
                    {"command": command, "rows": rows, "seconds": round(seconds, 1),
                     "cpu_seconds": round(cpu, 1), "peak_rss_mib": round(peak)}
                )  # fmt: skip
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
