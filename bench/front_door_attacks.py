"""What hostile campaign files cost `campaigner validate`: seconds and peak memory per attack.

Each attack is a small file a pull request could add (YAML alias bombs, deep nesting,
too many nodes, templates that build 100 MB or loop per contact, a file without
newlines named as contacts). Each runs through the real command in a subprocess, in a
temporary git work tree, and its peak RSS comes from os.wait4 for that child alone; a
valid campaign of the same shape is the reference. The claim to check: every attack is
refused in about the time of a valid file, with flat memory (before the bounds, the
6-level alias bomb took 47 s and 510 MB, and 7 levels ran past a minute).

    .venv/bin/python bench/front_door_attacks.py
    .venv/bin/python bench/front_door_attacks.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HEAD = """\
name: bench
api: v1
caller_ids: ["+912241499102"]
dial: {mode: agent_first, agents: ["+919900000001"]}
schedule: {deadline: 2099-12-31T20:00:00+05:30}
callbacks: {public_url: "https://hooks.example.com/exotel"}
"""
CONTACTS = 1_000  # rows of contacts.csv, for the per-contact template attacks


def _aliases(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "contacts: {file: contacts.csv}\n" + "\n".join(lines) + "\n"


def _template(source: str) -> str:
    return f"contacts: {{file: contacts.csv}}\ncall: {{custom_field: {json.dumps(source)}}}\n"


LOOPS = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}{{ n }}"
ATTACKS: dict[str, Callable[[Path], str]] = {
    "reference: a valid campaign, 1,000 contacts": lambda d: "contacts: {file: contacts.csv}\n",
    "alias bomb, 6 levels x 10": lambda d: _aliases(6),
    "alias bomb, 7 levels x 10": lambda d: _aliases(7),
    "nesting, 100,000 '['": lambda d: "description: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "25,000 inline contacts (nodes)": lambda d: (
        "contacts:\n  inline:\n" + "".join(f"    - '+9198123{i:05d}'\n" for i in range(25_000))
    ),
    "template: ('a' * 10**8)|length": lambda d: _template("{{ ('a' * 10**8)|length }}"),
    "template: 10^6 loop steps per contact": lambda d: _template(LOOPS),
    "template: doubling {% set %} x 40": lambda d: _template(
        "{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 40 + "{{ a|length }}{{ n }}"
    ),
    "contacts: 100 MB without a newline": lambda d: _no_newline(d),
}


def _no_newline(directory: Path) -> str:
    with (directory / "campaigns" / "flat.csv").open("w", encoding="utf-8") as out:
        out.write("phone,n\n")
        for _ in range(100):
            out.write("9" * 1_000_000)
    return "contacts: {file: flat.csv}\n"


def measure(directory: Path, name: str, body: str) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in MiB, exit code, the first output line) of validate."""
    campaign = directory / "campaigns" / "attack.yaml"
    campaign.write_text(HEAD + body, encoding="utf-8")
    log = directory / "out.txt"
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "campaigner", "validate", str(campaign)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
    seconds = time.perf_counter() - start
    lines = log.read_text(encoding="utf-8").replace(f"{directory}{os.sep}", "").splitlines()
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), lines[0][:110]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    print("| attack | seconds | peak RSS (MiB) | exit | first line |")
    print("| --- | ---: | ---: | ---: | --- |")
    figures = []
    with tempfile.TemporaryDirectory(prefix="campaigner-attacks-") as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()
        (root / "campaigns").mkdir()
        rows = "".join(f"98123{i:05d},1000\n" for i in range(CONTACTS))
        (root / "campaigns" / "contacts.csv").write_text("phone,n\n" + rows, encoding="utf-8")
        for name, make in ATTACKS.items():
            seconds, rss, code, first = measure(root, name, make(root))
            figures.append({"attack": name, "seconds": seconds, "rss_mib": rss, "exit": code})
            print(f"| {name} | {seconds:.2f} | {rss:.0f} | {code} | `{first}` |", flush=True)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
